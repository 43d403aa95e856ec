import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DateTime, Duration } from 'luxon';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { LogLevel } from './log';
import { IOC_TYPES, type IocType } from './ioc-types';
import { ACTOR_MAPPINGS, MODEL_TYPES, type ModelType } from './model-types';
import { unknownEnvNames, unknownYamlKeys } from './unknown-settings';
import { parseTlp, TLP_LEVELS, type Tlp } from './stix/markings';

/**
 * Configuration from `config.yml` and environment variables, OpenCTI style: the YAML key
 * `section.key` is the env var `SECTION_KEY`, and a set env var wins over the file.
 *
 * Every field carries JSON Schema metadata (`.meta()`): the type, default and description of its
 * environment variable as written, from which `npm run metadata` generates the Integration
 * Manager's config schema and documentation.
 */

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Raw = unknown;

function fail(ctx: z.RefinementCtx, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

/** Trimmed text, where an empty value means "not set" (pycti treats "" as the default). */
function presentText(value: Raw): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = scalarText(value).trim();
  return text === '' ? undefined : text;
}

/** YAML may hold a mapping or a list where a scalar belongs: show it as JSON in the error. */
function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return JSON.stringify(value) ?? '';
}

const show = (value: Raw): string => JSON.stringify(value);

function text(defaultValue: string) {
  return z
    .unknown()
    .transform((value) => presentText(value) ?? defaultValue)
    .meta({ type: 'string', default: defaultValue });
}

function optionalText() {
  return z
    .unknown()
    .transform((value) => presentText(value))
    .meta({ type: 'string' });
}

/** The value `config.yml.sample` and `.env.sample` ship in place of every credential. */
const PLACEHOLDER = 'ChangeMe';

function credentialText() {
  return z.unknown().transform((value, ctx) => {
    const v = presentText(value);
    if (v === PLACEHOLDER) return fail(ctx, `is still the placeholder "${PLACEHOLDER}"`);
    return v;
  });
}

function secret() {
  return credentialText().meta({ type: 'string', format: 'password', writeOnly: true });
}

function optionalBool() {
  return z
    .unknown()
    .transform((value, ctx) => {
      if (typeof value === 'boolean') return value;
      const v = presentText(value);
      if (v === undefined) return undefined;
      if (/^(true|yes)$/i.test(v)) return true;
      if (/^(false|no)$/i.test(v)) return false;
      return fail(ctx, `${show(value)} is not a boolean (use true or false)`);
    })
    .meta({ type: 'boolean' });
}

function bool(defaultValue: boolean) {
  return optionalBool()
    .transform((b) => b ?? defaultValue)
    .meta({ type: 'boolean', default: defaultValue });
}

function optionalInteger(range: { min: number; max: number }) {
  return z
    .unknown()
    .transform((value, ctx) => {
      const v = presentText(value);
      if (v === undefined) return undefined;
      if (!/^-?\d+$/.test(v)) return fail(ctx, `${show(value)} is not a whole number`);
      const n = Number(v);
      if (n < range.min || n > range.max) {
        return fail(ctx, `${v} is out of range (${range.min} to ${range.max})`);
      }
      return n;
    })
    .meta({ type: 'integer', minimum: range.min, maximum: range.max });
}

function integer(range: { min: number; max: number; default: number }) {
  return optionalInteger(range)
    .transform((n) => n ?? range.default)
    .meta({ type: 'integer', minimum: range.min, maximum: range.max, default: range.default });
}

function positiveNumber(defaultValue: number) {
  return z
    .unknown()
    .transform((value, ctx) => {
      const v = presentText(value);
      if (v === undefined) return defaultValue;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0)
        return fail(ctx, `${show(value)} is not a positive number`);
      return n;
    })
    .meta({ type: 'number', exclusiveMinimum: 0, default: defaultValue });
}

function optionalHttpUrl() {
  return z
    .unknown()
    .transform((value, ctx) => {
      const v = presentText(value);
      if (v === undefined) return undefined;
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        return fail(ctx, `${show(v)} is not a URL (expected http:// or https://…)`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        return fail(ctx, `${show(v)} is not an http:// or https:// URL`);
      }
      return v.replace(/\/+$/, '');
    })
    .meta({ type: 'string', format: 'uri' });
}

function httpUrl(defaultValue: string) {
  return z
    .preprocess((value) => presentText(value) ?? defaultValue, optionalHttpUrl())
    .transform((v) => v ?? defaultValue)
    .meta({ type: 'string', format: 'uri', default: defaultValue });
}

function list<T extends string>(options: {
  default: readonly T[];
  item: (v: string) => T | undefined;
  what: string;
}) {
  return z
    .unknown()
    .transform((value, ctx) => {
      if (value === undefined || value === null || value === '') return [...options.default];
      const items = Array.isArray(value) ? value.map(scalarText) : scalarText(value).split(',');
      const out: T[] = [];
      for (const raw of items.map((i) => i.trim()).filter((i) => i !== '')) {
        const item = options.item(raw);
        if (item === undefined) return fail(ctx, `${show(raw)} is not ${options.what}`);
        if (!out.includes(item)) out.push(item);
      }
      return out;
    })
    .meta({
      type: 'string',
      ...(options.default.length > 0 && { default: options.default.join(',') }),
    });
}

/** Unlike other lists, an empty value is a choice here: no threat models at all. */
const threatModelTypes = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() === '' ? [] : value),
  list<ModelType>({
    default: MODEL_TYPES,
    item: (v) => MODEL_TYPES.find((t) => t === v.toLowerCase()),
    what: `a threat model type (${MODEL_TYPES.join(', ')})`,
  }),
);

const digits = (v: string) => (/^\d+$/.test(v) ? v : undefined);

/** Milliseconds of an ISO-8601 duration (P1M = 30 days, P1Y = 365 days, as pycti), if valid. */
function isoDurationMs(v: string): number | undefined {
  // Luxon reads a bare "P" or "PT" as zero; a duration must state at least one number.
  if (!/\d/.test(v)) return undefined;
  const d = Duration.fromISO(v);
  if (!d.isValid) return undefined;
  const ms = d.as('milliseconds');
  return ms >= 0 ? ms : undefined;
}

/** Milliseconds of a strictly positive ISO-8601 duration. */
function positiveIsoDurationMs(v: string): number | undefined {
  const ms = isoDurationMs(v);
  return ms !== undefined && ms > 0 ? ms : undefined;
}

/**
 * Whole seconds (`3600`) or an ISO-8601 duration (`PT1H`), whether YAML or the environment
 * holds it; `0` or `PT0S` means "run once and exit" as in pycti.
 */
const durationPeriod = z
  .unknown()
  .transform((value, ctx) => {
    const v = presentText(value) ?? 'PT1H';
    if (/^\d+$/.test(v)) return Number(v) * 1000;
    const ms = isoDurationMs(v);
    if (ms === undefined) {
      return fail(
        ctx,
        `${show(value)} is neither whole seconds nor an ISO-8601 duration (e.g. 3600 or PT1H); 0 runs once`,
      );
    }
    return ms;
  })
  .meta({ type: 'string', default: 'PT1H' });

export type ImportStart = { kind: 'ago'; ms: number } | { kind: 'date'; date: Date };

const importStart = z
  .unknown()
  .transform((value, ctx): ImportStart => {
    const v = presentText(value instanceof Date ? value.toISOString() : value) ?? 'P30D';
    const ms = positiveIsoDurationMs(v);
    if (ms !== undefined) return { kind: 'ago', ms };
    const date = DateTime.fromISO(v, { zone: 'utc' });
    if (date.isValid && date.year >= 1970 && date.toMillis() <= Date.now()) {
      return { kind: 'date', date: date.toJSDate() };
    }
    return fail(
      ctx,
      `${show(value)} is neither an ISO-8601 duration (e.g. P30D) nor a past ISO date`,
    );
  })
  .meta({ type: 'string', default: 'P30D' });

function oneOf<T extends string>(values: readonly T[], defaultValue: T) {
  return z
    .unknown()
    .transform((value, ctx) => {
      const v = presentText(value)?.toLowerCase() ?? defaultValue;
      if ((values as readonly string[]).includes(v)) return v as T;
      return fail(ctx, `${show(value)} is not one of ${values.join(', ')}`);
    })
    .meta({ type: 'string', enum: [...values], default: defaultValue });
}

const logLevel = z
  .unknown()
  .transform((value, ctx): LogLevel => {
    const v = presentText(value)?.toLowerCase() ?? 'info';
    const level = v === 'warning' ? 'warn' : v;
    if (level === 'debug' || level === 'info' || level === 'warn' || level === 'error')
      return level;
    return fail(ctx, `${show(value)} is not a log level (debug, info, warning, error)`);
  })
  .meta({ type: 'string', enum: ['debug', 'info', 'warn', 'warning', 'error'], default: 'info' });

const uuid = z
  .unknown()
  .transform((value, ctx) => {
    const v = presentText(value);
    if (v === undefined) return undefined;
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) {
      return fail(
        ctx,
        `${show(value)} is not a UUID (generate one with node -p "crypto.randomUUID()")`,
      );
    }
    return v.toLowerCase();
  })
  .meta({ type: 'string', format: 'uuid' });

const tlp = z
  .unknown()
  .transform((value, ctx): Tlp => {
    const v = presentText(value) ?? 'amber';
    return (
      parseTlp(v) ??
      fail(ctx, `${show(value)} is not a TLP (clear, white, green, amber, amber+strict, red)`)
    );
  })
  .meta({ type: 'string', enum: [...TLP_LEVELS], default: 'amber' });

const connectorType = z
  .unknown()
  .transform((value, ctx) => {
    const v = presentText(value) ?? 'EXTERNAL_IMPORT';
    if (v !== 'EXTERNAL_IMPORT')
      return fail(ctx, `${show(value)} must be EXTERNAL_IMPORT for this connector`);
    return v;
  })
  .meta({ type: 'string', const: 'EXTERNAL_IMPORT', default: 'EXTERNAL_IMPORT' });

/**
 * The keys without which the connector cannot start, in the order errors name them. A dry run
 * writes files instead of talking to OpenCTI, so it needs only the ThreatStream ones.
 */
export const REQUIRED_KEYS = [
  { section: 'opencti', key: 'url', forDryRun: false },
  { section: 'opencti', key: 'token', forDryRun: false },
  { section: 'connector', key: 'id', forDryRun: false },
  { section: 'anomali', key: 'username', forDryRun: true },
  { section: 'anomali', key: 'api_key', forDryRun: true },
] as const;

export const configSchema = z
  .object({
    opencti: z.object({
      url: optionalHttpUrl().describe(
        'Base URL of the OpenCTI platform as the connector reaches it, e.g. http://opencti:8080.',
      ),
      token: secret().describe(
        "API token of the connector's OpenCTI user (a dedicated user in the Connectors group).",
      ),
      ssl_verify: bool(false).describe("Verify the platform's TLS certificate (off, as in pycti)."),
    }),
    connector: z.object({
      id: uuid.describe(
        'A UUIDv4 identifying the connector, its queue and its saved state; keep it for good.',
      ),
      type: connectorType.describe('Connector type; EXTERNAL_IMPORT is the only accepted value.'),
      name: text('Anomali ThreatStream').describe('Name shown in OpenCTI and in its works.'),
      scope: list({ default: ['threatstream'], item: (v) => v, what: 'a scope' }).describe(
        'Comma-separated scope sent at registration; informational for an import connector.',
      ),
      author: text('Anomali ThreatStream').describe(
        'Name of the organization set as the author of everything the connector imports.',
      ),
      log_level: logLevel.describe(
        'Lowest level of the JSON log lines written to standard output.',
      ),
      duration_period: durationPeriod.describe(
        'Pause from the end of one run to the start of the next: seconds or ISO-8601; 0 runs once.',
      ),
      run_and_terminate: bool(false).describe('Run once, save the state, then exit.'),
      queue_threshold: positiveNumber(500).describe(
        "Size of the connector's queue in OpenCTI, in decimal megabytes, at which the import pauses.",
      ),
      queue_check_interval: integer({ min: 1, max: 86_400, default: 60 }).describe(
        'Seconds between two queue checks while the import is paused.',
      ),
      queue_protocol: oneOf(['amqp', 'api'] as const, 'amqp').describe(
        "amqp publishes to OpenCTI's RabbitMQ; api pushes through the GraphQL API instead.",
      ),
      expose_metrics: bool(false).describe(
        'Serve /metrics (Prometheus), /health and /status over HTTP on the metrics port.',
      ),
      metrics_port: integer({ min: 1, max: 65_535, default: 9095 }).describe(
        'TCP port of the metrics, health and status endpoints.',
      ),
      dry_run: bool(false).describe(
        'One run that writes the bundles to files instead of OpenCTI; no platform settings needed.',
      ),
      dry_run_out: text('threatstream-bundles').describe(
        'Directory the dry run writes its STIX bundle files into.',
      ),
      dry_run_state: text('threatstream-state.json').describe(
        "File holding the dry run's cursors, so that the next dry run continues from them.",
      ),
      strict_config: bool(false).describe(
        'Refuse to start on unknown keys in config.yml or unknown variables with our prefixes.',
      ),
    }),
    mq: z.object({
      host: optionalText().describe('RabbitMQ host, instead of the one OpenCTI returns.'),
      port: optionalInteger({ min: 1, max: 65_535 }).describe(
        'RabbitMQ port, instead of the one OpenCTI returns.',
      ),
      vhost: optionalText().describe('RabbitMQ virtual host, instead of the one OpenCTI returns.'),
      use_ssl: optionalBool().describe(
        'Connect to RabbitMQ over TLS or not, instead of what OpenCTI returns.',
      ),
      user: optionalText().describe('RabbitMQ user, instead of the one OpenCTI returns.'),
      pass: secret().describe('RabbitMQ password, instead of the one OpenCTI returns.'),
      use_ssl_ca: optionalText().describe(
        'CA certificate to verify RabbitMQ with: inline PEM or the path of a PEM file.',
      ),
      use_ssl_cert: optionalText().describe(
        'Client certificate for RabbitMQ: inline PEM or the path of a PEM file.',
      ),
      use_ssl_key: secret().describe(
        'Private key of the client certificate: inline PEM or the path of a PEM file.',
      ),
      use_ssl_passphrase: secret().describe('Passphrase of the client private key.'),
      use_ssl_reject_unauthorized: bool(false).describe(
        "Verify RabbitMQ's TLS certificate (off, as in pycti).",
      ),
      max_message_mb: integer({ min: 1, max: 512, default: 15 }).describe(
        "Largest message published, in MiB; keep it below the broker's max_message_size.",
      ),
    }),
    anomali: z.object({
      url: httpUrl('https://api.threatstream.com').describe('ThreatStream API base URL.'),
      username: credentialText()
        .meta({ type: 'string' })
        .describe('ThreatStream user name, usually an e-mail address.'),
      api_key: secret().describe('ThreatStream API key of that user.'),
      ssl_verify: bool(true).describe("Verify ThreatStream's TLS certificate."),
      page_size: integer({ min: 1, max: 1000, default: 1000 }).describe(
        'Records per ThreatStream request.',
      ),
      types: list<IocType>({
        default: IOC_TYPES,
        item: (v) => IOC_TYPES.find((t) => t === v.toLowerCase()),
        what: `an IOC type (${IOC_TYPES.join(', ')})`,
      }).describe(`Comma-separated IOC types to import, among ${IOC_TYPES.join(', ')}.`),
      import_start: importStart.describe(
        'How far back the first run reaches: an ISO-8601 duration back from now, or a past date.',
      ),
      stability_delay: integer({ min: 0, max: 86_400, default: 60 }).describe(
        'Records modified less than this many seconds before a run starts wait for the next run.',
      ),
      min_confidence: optionalInteger({ min: 0, max: 100 }).describe(
        'Lowest ThreatStream confidence imported; unset imports every confidence.',
      ),
      feed_ids: list({ default: [], item: digits, what: 'a numeric feed id' }).describe(
        'Comma-separated numeric feed ids to import from; empty imports from every feed.',
      ),
      trusted_circle_ids: list({
        default: [],
        item: digits,
        what: 'a numeric trusted circle id',
      }).describe(
        'Comma-separated numeric trusted circle ids: only IOCs shared in them; empty: no filter.',
      ),
      tlp: tlp.describe('TLP marking of the IOCs that carry none (white is read as clear).'),
      create_observables: bool(true).describe("Let OpenCTI create each indicator's observable."),
      revoke_unknown: bool(false).describe(
        'Send revocations even for indicators OpenCTI does not hold (they are created revoked).',
      ),
      valid_until: oneOf(['expiration', 'decay'] as const, 'expiration').describe(
        "expiration: ThreatStream's expiration_ts becomes valid_until; decay: OpenCTI's decay rules decide.",
      ),
      ui_url: httpUrl('https://ui.threatstream.com').describe(
        'ThreatStream web UI base URL, for the links back to each IOC.',
      ),
      max_response_mb: integer({ min: 1, max: 1024, default: 16 }).describe(
        'Largest ThreatStream response accepted, in MiB.',
      ),
      timeout: integer({ min: 1, max: 3600, default: 60 }).describe(
        'Seconds allowed per ThreatStream request.',
      ),
      threat_model_types: threatModelTypes.describe(
        'Comma-separated threat model types to import; empty turns the threat-model import off.',
      ),
      actor_as: oneOf(ACTOR_MAPPINGS, 'intrusion-set').describe(
        'What a ThreatStream actor becomes in OpenCTI: intrusion-set or threat-actor.',
      ),
      model_max_per_run: integer({ min: 1, max: 100_000, default: 100 }).describe(
        'Threat models imported at most per run; the rest continue on the next run.',
      ),
    }),
  })
  .superRefine((config, ctx) => {
    const sections: Record<string, Record<string, unknown>> = config;
    for (const { section, key, forDryRun } of REQUIRED_KEYS) {
      if (config.connector.dry_run && !forDryRun) continue;
      if (sections[section]?.[key] === undefined)
        ctx.addIssue({ code: 'custom', path: [section, key], message: 'is required' });
    }
  });

type Parsed = z.output<typeof configSchema>;

/** The validated configuration; the keys are the YAML keys, so the documentation maps one to one. */
export type Config = Parsed & {
  opencti: { url: string; token: string };
  connector: { id: string };
  anomali: { username: string; api_key: string };
};

export const SECTIONS = ['opencti', 'connector', 'mq', 'anomali'] as const;

export function envName(section: string, key: string): string {
  return `${section}_${key}`.toUpperCase();
}

/** Every (section, key) the schema knows, for documentation checks and env lookup. */
export function configKeys(): [string, string][] {
  const shape = configSchema.shape as Record<string, z.ZodObject>;
  return SECTIONS.flatMap((section) => {
    const sectionShape = shape[section]?.shape ?? {};
    return Object.keys(sectionShape).map((key): [string, string] => [section, key]);
  });
}

/** Merges the YAML document and the environment: an env var that is set wins, even when empty. */
function mergeSources(
  yaml: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): {
  raw: Record<string, Record<string, unknown>>;
  fromYaml: Set<string>;
} {
  const raw: Record<string, Record<string, unknown>> = {};
  const fromYaml = new Set<string>();
  for (const [section, key] of configKeys()) {
    const sectionValues = (raw[section] ??= {});
    const name = envName(section, key);
    const envValue = env[name];
    const yamlSection = yaml[section];
    const yamlValue =
      yamlSection !== null && typeof yamlSection === 'object'
        ? (yamlSection as Record<string, unknown>)[key]
        : undefined;
    // Every key is present, even unset, so each field's transform supplies its own default.
    sectionValues[key] = envValue ?? yamlValue;
    if (envValue === undefined && yamlValue !== undefined) fromYaml.add(`${section}.${key}`);
  }
  return { raw, fromYaml };
}

/** What a dry run leaves aside, placeholders included: it talks to neither OpenCTI nor its broker. */
const DAEMON_ONLY: Record<string, readonly string[] | 'all'> = {
  opencti: 'all',
  mq: 'all',
  connector: ['id'],
};

function isDryRun(raw: Record<string, Record<string, unknown>>): boolean {
  const dryRun = configSchema.shape.connector.shape.dry_run.safeParse(raw.connector?.dry_run);
  return dryRun.success && dryRun.data;
}

/** The sources of the mode chosen, without the settings that mode never reads. */
function keysOfMode(
  raw: Record<string, Record<string, unknown>>,
): Record<string, Record<string, unknown>> {
  if (!isDryRun(raw)) return raw;
  const kept: Record<string, Record<string, unknown>> = {};
  for (const [section, values] of Object.entries(raw)) {
    const unused = DAEMON_ONLY[section];
    kept[section] = Object.fromEntries(
      Object.entries(values).map(([key, value]) => [
        key,
        unused === 'all' || unused?.includes(key) ? undefined : value,
      ]),
    );
  }
  return kept;
}

function readYaml(path: string, explicit: boolean): Record<string, unknown> {
  if (!existsSync(path)) {
    if (explicit) throw new ConfigError(`CONNECTOR_CONFIG_FILE: ${path} does not exist`);
    return {};
  }
  let document: unknown;
  try {
    document = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${path}: not valid YAML (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(`${path}: expected a mapping of sections (opencti, connector, anomali…)`);
  }
  return document as Record<string, unknown>;
}

/** Settings the user wrote that the schema does not know, each with its likely intended name. */
function unknownSettings(yaml: Record<string, unknown>, path: string, env: NodeJS.ProcessEnv) {
  const keys = configKeys();
  return [
    ...unknownYamlKeys(yaml, keys).map((problem) => `${problem} in ${path}`),
    ...unknownEnvNames(
      env,
      keys.map(([section, key]) => envName(section, key)),
    ),
  ];
}

function isStrict(raw: Record<string, Record<string, unknown>>): boolean {
  const strict = configSchema.shape.connector.shape.strict_config.safeParse(
    raw.connector?.strict_config,
  );
  return strict.success && strict.data;
}

export interface LoadOptions {
  /** Told of each unknown setting, unless `connector.strict_config` makes them errors. */
  warn?: (message: string) => void;
}

/**
 * Loads and validates the configuration. Throws one ConfigError naming every bad key, e.g.
 * `CONNECTOR_DURATION_PERIOD: "banana" is neither whole seconds nor an ISO-8601 duration…`.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  options: LoadOptions = {},
): Config {
  const explicitPath = presentText(env.CONNECTOR_CONFIG_FILE);
  const path = resolve(cwd, explicitPath ?? 'config.yml');
  const yaml = readYaml(path, explicitPath !== undefined);
  const { raw, fromYaml } = mergeSources(yaml, env);
  const unknown = unknownSettings(yaml, path, env);
  const strict = isStrict(raw);
  const parsed = configSchema.safeParse(keysOfMode(raw));
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const [section = '', key = ''] = issue.path.map(String);
        const where = fromYaml.has(`${section}.${key}`)
          ? `${section}.${key} in ${path}`
          : envName(section, key);
        return `${where}: ${issue.message}`;
      });
  // A typo often causes the error itself: `apikey` leaves `api_key` unset.
  if (strict || !parsed.success) problems.push(...unknown);
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems.join('; '));
  if (!strict) unknown.forEach((message) => options.warn?.(message));
  return parsed.data as Config;
}

/** The values to keep out of every log line, error message and file. */
export function secretsOf(config: Config): string[] {
  return [
    config.opencti.token,
    config.anomali.api_key,
    config.mq.pass,
    config.mq.use_ssl_key,
    config.mq.use_ssl_passphrase,
  ].filter((s): s is string => typeof s === 'string' && s !== '');
}

/** The lower bound of a cold start: a duration back from `now`, or a fixed date. */
export function importStartAt(start: ImportStart, now: Date): Date {
  return start.kind === 'date' ? start.date : new Date(now.getTime() - start.ms);
}
