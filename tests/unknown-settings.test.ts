import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../src/config';
import { closestName, editDistance } from '../src/unknown-settings';

const REQUIRED = {
  OPENCTI_URL: 'http://opencti:8080',
  OPENCTI_TOKEN: 'b1946ac9-2a33-4d4b-a3a5-d1d4b5b1e2f0',
  CONNECTOR_ID: '6a1f3a2e-8b4c-4f1e-9d2a-3c5b7e9f1a2b',
  ANOMALI_USERNAME: 'analyst@example.com',
  ANOMALI_API_KEY: 'k3y-0123456789abcdef',
};

/** Loads the configuration and returns the warnings it gave. */
function warningsOf(env: Record<string, string>, yaml?: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'unknown-'));
  if (yaml !== undefined) writeFileSync(join(dir, 'config.yml'), yaml);
  const warnings: string[] = [];
  loadConfig(env, dir, { warn: (message) => warnings.push(message) });
  return warnings;
}

describe('edit distance', () => {
  it.each([
    ['', '', 0],
    ['apikey', 'api_key', 1],
    ['anomaly', 'anomali', 1],
    ['kitten', 'sitting', 3],
    ['url', '', 3],
  ])('from %j to %j is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });

  it('suggests only a name near enough', () => {
    expect(closestName('apikey', ['api_key', 'url', 'username'])).toBe('api_key');
    expect(closestName('colour', ['api_key', 'url', 'username'])).toBeUndefined();
  });
});

describe('unknown settings', () => {
  it('names a mistyped YAML key and the key it likely meant', () => {
    const warnings = warningsOf(REQUIRED, 'anomali:\n  apikey: k3y-0123456789abcdef\n');
    expect(warnings).toEqual([
      expect.stringMatching(
        /^anomali\.apikey is unknown \(did you mean api_key\?\) in .*config\.yml$/,
      ),
    ]);
  });

  it('adds the likely typo to the error it causes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unknown-'));
    writeFileSync(join(dir, 'config.yml'), 'anomali:\n  apikey: k3y-0123456789abcdef\n');
    expect(() => loadConfig({ ...REQUIRED, ANOMALI_API_KEY: '' }, dir)).toThrow(
      /^ANOMALI_API_KEY: is required; anomali\.apikey is unknown \(did you mean api_key\?\) in /,
    );
  });

  it('names a mistyped section', () => {
    expect(warningsOf(REQUIRED, 'anomaly:\n  page_size: 10\n')).toEqual([
      expect.stringMatching(/^anomaly is unknown \(did you mean anomali\?\) in /),
    ]);
  });

  it('names a mistyped variable with one of our prefixes, without a guess when none is near', () => {
    expect(
      warningsOf({ ...REQUIRED, ANOMALI_APIKEY: 'x', CONNECTOR_COLOUR_SCHEME: 'dark', HOME: '/' }),
    ).toEqual([
      'ANOMALI_APIKEY is unknown (did you mean ANOMALI_API_KEY?)',
      'CONNECTOR_COLOUR_SCHEME is unknown',
    ]);
  });

  it('leaves alone the variables of the image, of the platform and of other connectors', () => {
    const shared = {
      CONNECTOR_CONFIG_FILE: '',
      CONNECTOR_TYPE: 'EXTERNAL_IMPORT',
      CONNECTOR_THREATSTREAM_ID: REQUIRED.CONNECTOR_ID,
      CONNECTOR_EXPORT_FILE_STIX_ID: REQUIRED.CONNECTOR_ID,
      OPENCTI_ADMIN_EMAIL: 'admin@example.com',
      OPENCTI_ADMIN_PASSWORD: 'secret',
      OPENCTI_ADMIN_TOKEN: REQUIRED.OPENCTI_TOKEN,
      OPENCTI_BASE_URL: 'http://localhost:8080',
      OPENCTI_ENCRYPTION_KEY: 'key',
      OPENCTI_HEALTHCHECK_ACCESS_KEY: 'key',
      OPENCTI_NETWORK: 'xtm_default',
      OPENCTI_PORT: '8080',
      OPENCTI_VERSION: '7.260817.0',
    };
    expect(warningsOf({ ...REQUIRED, ...shared })).toEqual([]);
  });

  it('refuses every unknown setting with CONNECTOR_STRICT_CONFIG=true', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unknown-'));
    writeFileSync(join(dir, 'config.yml'), 'connector:\n  strict_config: true\n  nmae: x\n');
    const load = () => loadConfig({ ...REQUIRED, MQ_HOTS: 'rabbit' }, dir);
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      /^connector\.nmae is unknown \(did you mean name\?\) in .*; MQ_HOTS is unknown \(did you mean MQ_HOST\?\)$/,
    );
  });
});
