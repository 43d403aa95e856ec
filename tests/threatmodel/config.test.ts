import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config';
import { MODEL_TYPES } from '../../src/model-types';

const REQUIRED = {
  CONNECTOR_DRY_RUN: 'true',
  ANOMALI_USERNAME: 'analyst@example.com',
  ANOMALI_API_KEY: 'k3y-0123456789abcdef',
  CONNECTOR_CONFIG_FILE: '/dev/null',
};
const load = (env: Record<string, string>) => loadConfig({ ...REQUIRED, ...env });

describe('the threat-model settings', () => {
  it('import every type, actors as intrusion sets, 100 models per run by default', () => {
    const { anomali } = load({});
    expect(anomali.threat_model_types).toEqual([...MODEL_TYPES]);
    expect(anomali.actor_as).toBe('intrusion-set');
    expect(anomali.model_max_per_run).toBe(100);
  });

  it('read an empty type list as "no threat models", unlike other lists', () => {
    expect(load({ ANOMALI_THREAT_MODEL_TYPES: '' }).anomali.threat_model_types).toEqual([]);
    expect(load({ ANOMALI_THREAT_MODEL_TYPES: ' ' }).anomali.threat_model_types).toEqual([]);
    expect(
      load({ ANOMALI_THREAT_MODEL_TYPES: 'Actor,tipreport,actor' }).anomali.threat_model_types,
    ).toEqual(['actor', 'tipreport']);
  });

  it('name the bad key and value', () => {
    expect(() => load({ ANOMALI_THREAT_MODEL_TYPES: 'actor,signature' })).toThrow(
      new ConfigError(
        `ANOMALI_THREAT_MODEL_TYPES: "signature" is not a threat model type (${MODEL_TYPES.join(', ')})`,
      ),
    );
    expect(() => load({ ANOMALI_ACTOR_AS: 'group' })).toThrow(
      /ANOMALI_ACTOR_AS: "group" is not one of intrusion-set, threat-actor/,
    );
    expect(() => load({ ANOMALI_MODEL_MAX_PER_RUN: '0' })).toThrow(
      /ANOMALI_MODEL_MAX_PER_RUN: 0 is out of range/,
    );
  });
});
