import type { ConnectorInfo, RegisterInput } from '../../src/opencti/api';

export const CONNECTOR_ID = '2d4b1c5e-8f0a-4b7e-9c3d-1a2b3c4d5e6f';

/** What the daemon registers with: an external-import connector, flags as pycti sends them. */
export const registerInput: RegisterInput = {
  id: CONNECTOR_ID,
  name: 'ThreatStream',
  type: 'EXTERNAL_IMPORT',
  scope: ['threatstream'],
  auto: false,
  only_contextual: false,
  playbook_compatible: false,
  auto_update: false,
  enrichment_resolution: 'none',
};

/** The run information of an idle daemon: what a ping carries between runs. */
export const idleConnectorInfo = (): ConnectorInfo => ({
  run_and_terminate: false,
  buffering: false,
  queue_threshold: 500,
  queue_messages_size: 0,
  next_run_datetime: null,
  last_run_datetime: null,
});
