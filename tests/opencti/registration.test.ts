import { afterEach, describe, expect, it } from '@jest/globals';
import { OpenCtiApi } from '../../src/opencti/api';
import { CONNECTOR_SLUG, register } from '../../src/opencti/registration';
import { silentLogger, type Logger } from '../../src/log';
import { captureLogs } from '../support/capture';
import { OpenCtiStub, type OpenCtiSchemaVersion } from '../../stand-ins/opencti/stub';

const TOKEN = 'registration-test-token';
const CONNECTOR = {
  id: '5b0e8f52-3c1d-4a7e-9f6b-2d8c4e1a7b90',
  name: 'Anomali ThreatStream',
  scope: ['threatstream'],
};

/** What pycti 6.8.10's `to_input` sends, and all that 6.8 and early 7.x platforms accept. */
const FIELDS_6_8 = [
  'id',
  'name',
  'type',
  'scope',
  'auto',
  'auto_update',
  'enrichment_resolution',
  'only_contextual',
  'playbook_compatible',
  'listen_callback_uri',
];

let stub: OpenCtiStub | undefined;

afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

async function registerWith(
  schema: OpenCtiSchemaVersion,
  prepare: (stub: OpenCtiStub) => void = () => undefined,
  logger: Logger = silentLogger(),
): Promise<Record<string, unknown>[]> {
  stub = await OpenCtiStub.start({ token: TOKEN, schema });
  prepare(stub);
  const api = new OpenCtiApi({
    url: stub.url,
    token: TOKEN,
    sslVerify: true,
    timeoutMs: 5000,
    logger,
  });
  await register(api, {
    url: stub.url,
    connector: CONNECTOR,
    version: '3.4.5',
    logger,
    signal: new AbortController().signal,
    reachable: () => undefined,
  });
  expect(stub.violations).toEqual([]);
  return stub
    .calls('RegisterConnector')
    .map((call) => call.variables.input as Record<string, unknown>);
}

describe('registration metadata', () => {
  it('sends exactly the 6.8 fields to a 6.8 platform', async () => {
    const [input] = await registerWith('6.8');
    expect(Object.keys(input!).sort()).toEqual([...FIELDS_6_8].sort());
    expect(stub!.connector).toMatchObject({ id: CONNECTOR.id, name: CONNECTOR.name });
  });

  it('adds version and slug for a 7.x platform that lists them', async () => {
    const [input] = await registerWith('7');
    expect(Object.keys(input!).sort()).toEqual([...FIELDS_6_8, 'version', 'slug'].sort());
    expect(input).toMatchObject({ version: '3.4.5', slug: CONNECTOR_SLUG });
    expect(CONNECTOR_SLUG).toBe('anomali-threatstream');
  });

  it('sends neither when the platform will not list its fields, and says so', async () => {
    const logs = captureLogs();
    const refuseIntrospection = (s: OpenCtiStub) =>
      s.failNext('RegisterConnectorInputFields', {
        kind: 'graphql',
        name: 'GRAPHQL_VALIDATION_FAILED',
        message: 'GraphQL introspection is not allowed',
      });
    const [input] = await registerWith('7', refuseIntrospection, logs.logger);
    expect(Object.keys(input!).sort()).toEqual([...FIELDS_6_8].sort());
    expect(logs.text()).toContain('OpenCTI did not list its registration fields');
  });

  it('asks once, even when the registration itself is retried', async () => {
    const inputs = await registerWith('7', (s) =>
      s.failNext('RegisterConnector', { kind: 'http', status: 502 }),
    );
    expect(inputs).toHaveLength(2);
    expect(stub!.calls('RegisterConnectorInputFields')).toHaveLength(1);
    expect(inputs[1]).toMatchObject({ version: '3.4.5', slug: CONNECTOR_SLUG });
  });
});
