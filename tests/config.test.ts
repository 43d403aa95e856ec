import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, importStartAt, loadConfig, secretsOf } from '../src/config';

const REQUIRED = {
  OPENCTI_URL: 'http://opencti:8080',
  OPENCTI_TOKEN: 'b1946ac9-2a33-4d4b-a3a5-d1d4b5b1e2f0',
  CONNECTOR_ID: '6a1f3a2e-8b4c-4f1e-9d2a-3c5b7e9f1a2b',
  ANOMALI_USERNAME: 'analyst@example.com',
  ANOMALI_API_KEY: 'k3y-0123456789abcdef',
};

const emptyDir = () => mkdtempSync(join(tmpdir(), 'config-'));

function load(env: Record<string, string>, yaml?: string) {
  const dir = emptyDir();
  if (yaml !== undefined) writeFileSync(join(dir, 'config.yml'), yaml);
  return loadConfig(env, dir);
}

function errorOf(env: Record<string, string>, yaml?: string): string {
  try {
    load(env, yaml);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('loadConfig', () => {
  it('applies the documented defaults when only the required keys are set', () => {
    const config = load(REQUIRED);
    expect(config.opencti).toEqual({
      url: 'http://opencti:8080',
      token: REQUIRED.OPENCTI_TOKEN,
      ssl_verify: false,
    });
    expect(config.connector).toMatchObject({
      id: REQUIRED.CONNECTOR_ID,
      type: 'EXTERNAL_IMPORT',
      name: 'Anomali ThreatStream',
      author: 'Anomali ThreatStream',
      log_level: 'info',
      duration_period: 3_600_000,
      run_and_terminate: false,
      queue_threshold: 500,
      queue_check_interval: 60,
      queue_protocol: 'amqp',
    });
    expect(config.anomali).toMatchObject({
      url: 'https://api.threatstream.com',
      ssl_verify: true,
      page_size: 1000,
      types: ['ip', 'ipv6', 'domain', 'url', 'email', 'hash', 'string'],
      import_start: { kind: 'ago', ms: 30 * 86_400_000 },
      stability_delay: 60,
      min_confidence: undefined,
      feed_ids: [],
      trusted_circle_ids: [],
      tlp: 'amber',
      create_observables: true,
      ui_url: 'https://ui.threatstream.com',
      max_response_mb: 16,
    });
    expect(config.mq.use_ssl_reject_unauthorized).toBe(false);
  });

  it('reads config.yml and lets a set environment variable win', () => {
    const yaml = [
      'opencti:',
      '  url: http://from-yaml:8080',
      '  token: yaml-token-value',
      'connector:',
      `  id: ${REQUIRED.CONNECTOR_ID}`,
      '  duration_period: PT15M',
      '  queue_threshold: 250',
      'anomali:',
      '  username: yaml@example.com',
      '  api_key: yaml-key-value',
      '  types: [ip, domain]',
      '  feed_ids: [12, 34]',
      '  create_observables: false',
    ].join('\n');
    const config = load({ OPENCTI_URL: 'https://env:8443/', ANOMALI_TYPES: 'url,HASH' }, yaml);
    expect(config.opencti.url).toBe('https://env:8443');
    expect(config.opencti.token).toBe('yaml-token-value');
    expect(config.connector.duration_period).toBe(900_000);
    expect(config.connector.queue_threshold).toBe(250);
    expect(config.anomali.types).toEqual(['url', 'hash']);
    expect(config.anomali.feed_ids).toEqual(['12', '34']);
    expect(config.anomali.create_observables).toBe(false);
  });

  it('reads the file named by CONNECTOR_CONFIG_FILE and fails when it does not exist', () => {
    const dir = emptyDir();
    writeFileSync(join(dir, 'custom.yml'), 'connector:\n  name: From custom file\n');
    const config = loadConfig({ ...REQUIRED, CONNECTOR_CONFIG_FILE: 'custom.yml' }, dir);
    expect(config.connector.name).toBe('From custom file');
    expect(() => loadConfig({ ...REQUIRED, CONNECTOR_CONFIG_FILE: 'missing.yml' }, dir)).toThrow(
      /CONNECTOR_CONFIG_FILE: .*missing\.yml does not exist/,
    );
  });

  it('names the key and the problem for a bad duration', () => {
    expect(errorOf({ ...REQUIRED, CONNECTOR_DURATION_PERIOD: 'banana' })).toBe(
      'CONNECTOR_DURATION_PERIOD: "banana" is neither whole seconds nor an ISO-8601 duration (e.g. 3600 or PT1H); 0 runs once',
    );
  });

  it('names the YAML key when the bad value came from config.yml', () => {
    expect(errorOf(REQUIRED, 'connector:\n  duration_period: banana\n')).toMatch(
      /^connector\.duration_period in .*config\.yml: "banana" is neither whole seconds nor an ISO-8601/,
    );
  });

  it.each([
    ['0', 0],
    ['PT0S', 0],
    ['3600', 3_600_000],
    ['P1D', 86_400_000],
    ['PT15M', 900_000],
  ])('reads the duration %s alike from the environment and from YAML', (value, ms) => {
    expect(load({ ...REQUIRED, CONNECTOR_DURATION_PERIOD: value }).connector.duration_period).toBe(
      ms,
    );
    const yaml = `connector:\n  duration_period: ${value}\n`;
    expect(load(REQUIRED, yaml).connector.duration_period).toBe(ms);
  });

  it('rejects negative, fractional and malformed durations', () => {
    for (const value of ['-PT5M', '-5', '1.5', 'PT']) {
      expect(errorOf({ ...REQUIRED, CONNECTOR_DURATION_PERIOD: value })).toMatch(
        new RegExp(`^CONNECTOR_DURATION_PERIOD: "${value}" is neither`),
      );
    }
  });

  describe('a dry run from the sample config', () => {
    const sample = readFileSync(join(__dirname, '..', 'config.yml.sample'), 'utf8');
    const credentials = {
      ANOMALI_USERNAME: 'analyst@example.com',
      ANOMALI_API_KEY: 'k3y-0123456789abcdef',
    };

    it('needs only the ThreatStream credentials', () => {
      const config = load({ ...credentials, CONNECTOR_DRY_RUN: 'true' }, sample);
      expect(config.connector.dry_run).toBe(true);
      expect(config.anomali.username).toBe('analyst@example.com');
    });

    it('still refuses the ThreatStream placeholders', () => {
      const message = errorOf({ CONNECTOR_DRY_RUN: 'true' }, sample);
      expect(message).toMatch(
        /^anomali\.username in .*config\.yml: is still the placeholder "ChangeMe"; anomali\.api_key in .*config\.yml: is still the placeholder "ChangeMe"$/,
      );
    });

    it('refuses the OpenCTI and connector id placeholders for the daemon', () => {
      expect(errorOf(credentials, sample)).toMatch(
        /^opencti\.token in .*: is still the placeholder "ChangeMe"; connector\.id in .*: "ChangeMe" is not a UUID/,
      );
    });
  });

  it('lists every missing required key in one message', () => {
    expect(errorOf({})).toBe(
      'OPENCTI_URL: is required; OPENCTI_TOKEN: is required; CONNECTOR_ID: is required; ANOMALI_USERNAME: is required; ANOMALI_API_KEY: is required',
    );
  });

  it.each([
    [{ OPENCTI_TOKEN: '' }, /^OPENCTI_TOKEN: is required$/],
    [{ OPENCTI_TOKEN: 'ChangeMe' }, /^OPENCTI_TOKEN: is still the placeholder "ChangeMe"$/],
    [{ ANOMALI_USERNAME: 'ChangeMe' }, /^ANOMALI_USERNAME: is still the placeholder "ChangeMe"$/],
    [
      { OPENCTI_URL: 'opencti:8080' },
      /^OPENCTI_URL: "opencti:8080" is not an http:\/\/ or https:\/\/ URL$/,
    ],
    [{ OPENCTI_URL: 'not a url' }, /^OPENCTI_URL: "not a url" is not a URL/],
    [
      { ANOMALI_URL: 'ftp://x' },
      /^ANOMALI_URL: "ftp:\/\/x" is not an http:\/\/ or https:\/\/ URL$/,
    ],
    [{ CONNECTOR_ID: 'my-connector' }, /^CONNECTOR_ID: "my-connector" is not a UUID/],
    [
      { CONNECTOR_QUEUE_THRESHOLD: 'lots' },
      /^CONNECTOR_QUEUE_THRESHOLD: "lots" is not a positive number$/,
    ],
    [
      { CONNECTOR_QUEUE_THRESHOLD: '-5' },
      /^CONNECTOR_QUEUE_THRESHOLD: "-5" is not a positive number$/,
    ],
    [
      { CONNECTOR_RUN_AND_TERMINATE: 'maybe' },
      /^CONNECTOR_RUN_AND_TERMINATE: "maybe" is not a boolean/,
    ],
    [
      { CONNECTOR_QUEUE_PROTOCOL: 'kafka' },
      /^CONNECTOR_QUEUE_PROTOCOL: "kafka" is not one of amqp, api$/,
    ],
    [{ CONNECTOR_LOG_LEVEL: 'loud' }, /^CONNECTOR_LOG_LEVEL: "loud" is not a log level/],
    [{ CONNECTOR_TYPE: 'STREAM' }, /^CONNECTOR_TYPE: "STREAM" must be EXTERNAL_IMPORT/],
    [{ ANOMALI_PAGE_SIZE: '5000' }, /^ANOMALI_PAGE_SIZE: 5000 is out of range \(1 to 1000\)$/],
    [{ ANOMALI_PAGE_SIZE: '10.5' }, /^ANOMALI_PAGE_SIZE: "10.5" is not a whole number$/],
    [
      { ANOMALI_MIN_CONFIDENCE: '101' },
      /^ANOMALI_MIN_CONFIDENCE: 101 is out of range \(0 to 100\)$/,
    ],
    [{ ANOMALI_TYPES: 'ip,hashes' }, /^ANOMALI_TYPES: "hashes" is not an IOC type/],
    [{ ANOMALI_FEED_IDS: '12,abc' }, /^ANOMALI_FEED_IDS: "abc" is not a numeric feed id$/],
    [{ ANOMALI_TLP: 'purple' }, /^ANOMALI_TLP: "purple" is not a TLP/],
    [
      { ANOMALI_IMPORT_START: 'yesterday' },
      /^ANOMALI_IMPORT_START: "yesterday" is neither an ISO-8601 duration/,
    ],
    [{ MQ_PORT: 'amqp' }, /^MQ_PORT: "amqp" is not a whole number$/],
    [{ ANOMALI_API_KEY: '' }, /^ANOMALI_API_KEY: is required$/],
    [
      { ANOMALI_URL: 'api.threatstream.com' },
      /^ANOMALI_URL: "api.threatstream.com" is not a URL \(expected http:\/\/ or https:\/\/…\)$/,
    ],
    [
      { ANOMALI_UI_URL: 'ui.threatstream.com' },
      /^ANOMALI_UI_URL: "ui.threatstream.com" is not a URL/,
    ],
    [{ ANOMALI_TIMEOUT: '0' }, /^ANOMALI_TIMEOUT: 0 is out of range \(1 to 3600\)$/],
    [
      { ANOMALI_MAX_RESPONSE_MB: 'lots' },
      /^ANOMALI_MAX_RESPONSE_MB: "lots" is not a whole number$/,
    ],
    [
      { ANOMALI_STABILITY_DELAY: '-1' },
      /^ANOMALI_STABILITY_DELAY: -1 is out of range \(0 to 86400\)$/,
    ],
    [
      { ANOMALI_TRUSTED_CIRCLE_IDS: 'x' },
      /^ANOMALI_TRUSTED_CIRCLE_IDS: "x" is not a numeric trusted circle id$/,
    ],
    [{ ANOMALI_SSL_VERIFY: 'maybe' }, /^ANOMALI_SSL_VERIFY: "maybe" is not a boolean/],
    [{ ANOMALI_CREATE_OBSERVABLES: '2' }, /^ANOMALI_CREATE_OBSERVABLES: "2" is not a boolean/],
    [
      { CONNECTOR_QUEUE_CHECK_INTERVAL: '0' },
      /^CONNECTOR_QUEUE_CHECK_INTERVAL: 0 is out of range \(1 to 86400\)$/,
    ],
    [
      { CONNECTOR_EXPOSE_METRICS: 'sometimes' },
      /^CONNECTOR_EXPOSE_METRICS: "sometimes" is not a boolean/,
    ],
    [
      { CONNECTOR_METRICS_PORT: '70000' },
      /^CONNECTOR_METRICS_PORT: 70000 is out of range \(1 to 65535\)$/,
    ],
    [
      { MQ_USE_SSL_REJECT_UNAUTHORIZED: 'nope' },
      /^MQ_USE_SSL_REJECT_UNAUTHORIZED: "nope" is not a boolean/,
    ],
  ])('rejects %p with a message naming the key', (override, expected) => {
    expect(errorOf({ ...REQUIRED, ...override })).toMatch(expected);
  });

  it('parses booleans case-insensitively, unlike pycti where "FALSE" is truthy', () => {
    expect(
      load({ ...REQUIRED, CONNECTOR_RUN_AND_TERMINATE: 'FALSE' }).connector.run_and_terminate,
    ).toBe(false);
    expect(
      load({ ...REQUIRED, CONNECTOR_RUN_AND_TERMINATE: 'yes' }).connector.run_and_terminate,
    ).toBe(true);
    expect(
      load(REQUIRED, 'connector:\n  run_and_terminate: true\n').connector.run_and_terminate,
    ).toBe(true);
  });

  it('keeps the broker TLS setting OpenCTI returns unless MQ_USE_SSL is set', () => {
    expect(load({ ...REQUIRED, MQ_USE_SSL: '' }).mq.use_ssl).toBeUndefined();
    expect(load(REQUIRED).mq.use_ssl).toBeUndefined();
    expect(load({ ...REQUIRED, MQ_USE_SSL: 'false' }).mq.use_ssl).toBe(false);
    expect(load({ ...REQUIRED, MQ_USE_SSL: 'true' }).mq.use_ssl).toBe(true);
  });

  it('accepts an import start as a duration back from now or as a past date', () => {
    const now = new Date('2026-06-01T00:00:00Z');
    const ago = load({ ...REQUIRED, ANOMALI_IMPORT_START: 'P7D' }).anomali.import_start;
    expect(importStartAt(ago, now).toISOString()).toBe('2026-05-25T00:00:00.000Z');
    const date = load({ ...REQUIRED, ANOMALI_IMPORT_START: '2024-01-15' }).anomali.import_start;
    expect(importStartAt(date, now).toISOString()).toBe('2024-01-15T00:00:00.000Z');
    expect(errorOf({ ...REQUIRED, ANOMALI_IMPORT_START: '2999-01-01' })).toMatch(
      /^ANOMALI_IMPORT_START/,
    );
  });

  it('rejects a YAML document that is not a mapping, naming the file', () => {
    expect(() => load(REQUIRED, '- just\n- a list\n')).toThrow(
      /config\.yml: expected a mapping of sections/,
    );
    expect(() => load(REQUIRED, 'opencti: [unclosed\n')).toThrow(/config\.yml: not valid YAML/);
  });

  it('never echoes a secret in an error message', () => {
    const message = errorOf({ ...REQUIRED, CONNECTOR_ID: 'bad', MQ_PASS: 's3cr3t-pass' });
    expect(message).not.toContain(REQUIRED.OPENCTI_TOKEN);
    expect(message).not.toContain(REQUIRED.ANOMALI_API_KEY);
    expect(message).not.toContain('s3cr3t-pass');
  });

  it('collects the values to redact from logs', () => {
    const config = load({ ...REQUIRED, MQ_PASS: 'broker-pass' });
    expect(secretsOf(config).sort()).toEqual(
      [REQUIRED.ANOMALI_API_KEY, REQUIRED.OPENCTI_TOKEN, 'broker-pass'].sort(),
    );
  });
});
