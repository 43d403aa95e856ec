import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  configKeys,
  envName,
  loadConfig,
  secretsOf,
  type Config,
} from '../../src/config';

/**
 * What the configuration schema does, found by running loadConfig rather than by reading the
 * schema, so that the documents are checked against the behaviour.
 */

export type Env = Record<string, string | undefined>;

export const KEYS = configKeys();
export const ENV_NAMES = KEYS.map(([section, key]) => envName(section, key));
export const keyOfEnv = new Map(
  KEYS.map(([section, key]) => [envName(section, key), `${section}.${key}`]),
);

/** A directory without config.yml: the configuration then comes from the environment alone. */
export const emptyDir = () => mkdtempSync(join(tmpdir(), 'deployment-'));

/** A valid value for each required key. */
export const VALID: Record<string, string> = {
  OPENCTI_URL: 'http://opencti:8080',
  OPENCTI_TOKEN: 'e3b0c442-98fc-4c14-9afb-f4c8996fb924',
  CONNECTOR_ID: '0f3c2a8e-5b7d-4e1f-9a6c-2d8b4f7e1c3a',
  ANOMALI_USERNAME: 'analyst@example.com',
  ANOMALI_API_KEY: 'k3y-0123456789abcdef',
};

/** The env names loadConfig reports as missing when nothing is set. */
function requiredNames(env: Env): Set<string> {
  try {
    loadConfig(env, emptyDir());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const names = [...error.message.matchAll(/([A-Z0-9_]+): is required/g)];
    return new Set(names.map((m) => m[1] ?? ''));
  }
  return new Set();
}

export const REQUIRED = requiredNames({});
export const REQUIRED_FOR_DRY_RUN = requiredNames({ CONNECTOR_DRY_RUN: 'true' });

/** The required keys, set to valid values. */
export const requiredEnv = (): Env =>
  Object.fromEntries([...REQUIRED].map((name) => [name, VALID[name]]));

/** The configuration with only the required keys set: every other key at its schema default. */
export function defaults(required: Env): Config {
  return loadConfig(required, emptyDir());
}

/** Keys whose value secretsOf keeps out of logs: found by probing each key with a marker value. */
function secretNames(): Set<string> {
  const secrets = new Set<string>();
  for (const name of ENV_NAMES) {
    const probe = `probe-${name.toLowerCase()}`;
    let config: Config;
    try {
      config = loadConfig({ ...requiredEnv(), [name]: probe }, emptyDir());
    } catch {
      continue; // not a free-text key
    }
    if (secretsOf(config).includes(probe)) secrets.add(name);
  }
  return secrets;
}

export const SECRETS = secretNames();
