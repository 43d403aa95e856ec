import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config';
import { configJsonSchema } from '../../scripts/config-metadata';
import { GENERATED_FILES, generatedFiles } from '../../scripts/metadata';
import {
  ENV_NAMES,
  REQUIRED,
  SECRETS,
  defaults,
  emptyDir,
  requiredEnv,
  type Env,
} from './config-probes';
import { ROOT, at, isRecord, parseYaml, read, readJson, sorted, stringList } from './files';

/**
 * `__metadata__/` is what OpenCTI's Integration Manager deploys the connector from: the manifest,
 * and a config schema and its documentation generated from src/config.ts. These checks keep the
 * generated files current and make sure the schema says what the configuration really does.
 */

/** The catalog's fixed vocabularies, as the connectors repository's manifest schema lists them. */
const USE_CASES = [
  'Adversary & Campaign Insights',
  'Vulnerability & Exploit Awareness',
  'Infrastructure & Attack Surface Visibility',
  'Detection & Response Enablement',
  'Fraud, Financial Crime & Cryptocurrency Monitoring',
  'Brand, Digital Risk & Underground Exposure',
  'Third-Party & Supply Chain Oversight',
  'Cloud, SaaS & Platform Security',
  'Geopolitical, Physical & Hybrid Risk Analysis',
  'Market Vertical & Mission-Specific Intelligence',
  'FIMI & Disinformation',
  'Other',
];

const SOLUTION_CATEGORIES = [
  'Threat Intelligence Feed',
  'Endpoint Detection & Response',
  'SIEM & Security Analytics',
  'Malware Analysis & Sandbox',
  'SOAR & Security Automation',
  'Vulnerability & Exposure Management',
  'Attack Surface Management',
  'Network Security',
  'Email Security',
  'AI Security',
  'Incident Response & Case Management',
  'Digital Risk Protection',
  'Governance, Risk & Compliance',
  'Cloud Security',
  'Enrichment & Reputation',
  'Import, Export & Sharing',
  'Other',
];

const schema = configJsonSchema();
const properties = Object.entries(schema.properties);

/** Whether loadConfig accepts the value for the variable, the required keys being set. */
function accepts(name: string, value: string): boolean {
  try {
    loadConfig({ ...requiredEnv(), [name]: value }, emptyDir());
    return true;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return false;
  }
}

describe('the generated files', () => {
  it.each(GENERATED_FILES)('%s is what `npm run metadata` writes', (file) => {
    const expected = generatedFiles()[file];
    const committed = read(file);
    // On failure: run `npm run metadata` and commit the result.
    expect({ file, upToDate: committed === expected }).toEqual({ file, upToDate: true });
  });

  it('the committed schema is valid JSON of the 2020-12 dialect, open to other variables', () => {
    const committed = readJson('__metadata__/connector_config_schema.json');
    expect(at(committed, '$schema')).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(at(committed, 'type')).toBe('object');
    expect(at(committed, 'additionalProperties')).toBe(true);
    expect(typeof at(committed, '$id')).toBe('string');
  });

  it('the doc has one row per variable', () => {
    const rows = read('__metadata__/CONNECTOR_CONFIG_DOC.md')
      .split('\n')
      .map((line) => /^\| ([A-Z][A-Z0-9_]*) +\|/.exec(line)?.[1])
      .filter((name) => name !== undefined);
    expect(sorted(rows)).toEqual(sorted(ENV_NAMES));
  });
});

describe('the config schema says what the configuration does', () => {
  it('lists every variable of src/config.ts, each typed and described', () => {
    expect(sorted(Object.keys(schema.properties))).toEqual(sorted(ENV_NAMES));
    for (const [name, property] of properties) {
      expect({ name, type: property.type }).toEqual({
        name,
        type: expect.stringMatching(/^(string|boolean|integer|number)$/),
      });
      expect({ name, described: (property.description ?? '').length > 10 }).toEqual({
        name,
        described: true,
      });
    }
  });

  it('requires exactly the keys a live connector cannot start without', () => {
    expect(sorted(schema.required)).toEqual(sorted(REQUIRED));
  });

  it('marks exactly the secrets as write-only passwords, none with a default', () => {
    const passwords = properties
      .filter(([, p]) => p.format === 'password' && p.writeOnly === true)
      .map(([name]) => name);
    expect(sorted(passwords)).toEqual(sorted(SECRETS));
    for (const name of SECRETS) expect(schema.properties[name]?.default).toBeUndefined();
  });

  it('accepts every enumerated value and each range bound, and rejects beyond them', () => {
    for (const [name, property] of properties) {
      const allowed = [...(property.enum ?? []), ...(property.const ? [property.const] : [])];
      for (const value of allowed)
        expect({ name, value, ok: accepts(name, String(value)) }).toEqual({
          name,
          value,
          ok: true,
        });
      if (property.type === 'boolean') {
        expect([accepts(name, 'true'), accepts(name, 'false'), accepts(name, 'maybe')]).toEqual([
          true,
          true,
          false,
        ]);
      }
      if (property.minimum !== undefined && property.maximum !== undefined) {
        const probes = [
          property.minimum - 1,
          property.minimum,
          property.maximum,
          property.maximum + 1,
        ];
        expect({ name, ok: probes.map((n) => accepts(name, String(n))) }).toEqual({
          name,
          ok: [false, true, true, false],
        });
      }
    }
  });

  it('gives as default the value that applies when the variable is unset', () => {
    const base = defaults(requiredEnv());
    for (const [name, property] of properties) {
      if (property.default === undefined) continue;
      const explicit = loadConfig(
        { ...requiredEnv(), [name]: String(property.default) },
        emptyDir(),
      );
      expect({ name, config: explicit }).toEqual({ name, config: base });
    }
  });

  it('shows the same default as the README tables', () => {
    const readme = read('README.md').split('\n');
    for (const [name, property] of properties) {
      if (property.default === undefined) continue;
      const row = readme.find((line) => line.includes(`| \`${name}\``));
      const cells = (row ?? '').split('|').map((cell) => cell.trim());
      expect({ name, readme: cells[4] }).toEqual({
        name,
        readme: `\`${String(property.default)}\``,
      });
    }
  });
});

describe('a deployment from environment variables alone', () => {
  it('starts from the variables the Integration Manager passes, with no config.yml', () => {
    // The manager passes the schema's defaults and the values the user typed, nothing else.
    const env: Env = { ...requiredEnv() };
    for (const [name, property] of properties) {
      if (property.default !== undefined) env[name] = String(property.default);
    }
    expect(env.CONNECTOR_CONFIG_FILE).toBeUndefined();
    const config = loadConfig(env, emptyDir());
    expect(config).toEqual(defaults(requiredEnv()));
    expect(config.connector.type).toBe('EXTERNAL_IMPORT');
    expect(config.opencti.url).toBe(env.OPENCTI_URL);
    expect(config.anomali.api_key).toBe(env.ANOMALI_API_KEY);
  });
});

describe('connector_manifest.json', () => {
  const manifest = readJson('__metadata__/connector_manifest.json');
  const field = (name: string) => at(manifest, name);
  const packageJson = readJson('package.json');

  it('has the fields of the connectors catalog, with their types', () => {
    expect(isRecord(manifest)).toBe(true);
    for (const name of ['title', 'slug', 'description', 'short_description', 'logo']) {
      expect({ name, value: field(name) }).toEqual({ name, value: expect.stringMatching(/\S/) });
    }
    for (const name of ['verified', 'playbook_supported', 'manager_supported']) {
      expect({ name, type: typeof field(name) }).toEqual({ name, type: 'boolean' });
    }
    expect(field('slug')).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
    expect(field('slug')).toBe('anomali-threatstream');
    expect(field('last_verified_date')).toBeNull();
    expect(field('max_confidence_level')).toEqual(expect.any(Number));
    expect(field('support_version')).toMatch(/^>= \d+\.\d+\.\d+$/);
    expect(typeof field('contact')).toBe('string');
    expect(typeof field('source_code')).toBe('string');
    expect(field('subscription_link')).toMatch(/^https:\/\//);
  });

  it('keeps the short description within the catalog limit', () => {
    expect(String(field('short_description')).length).toBeLessThanOrEqual(250);
  });

  it('uses the catalog vocabularies for use cases, categories and licence', () => {
    const useCases = stringList(field('use_cases'), 'use_cases');
    expect(useCases.length).toBeGreaterThanOrEqual(1);
    expect(useCases.length).toBeLessThanOrEqual(3);
    for (const useCase of useCases) expect(USE_CASES).toContain(useCase);
    const categories = stringList(field('solution_categories'), 'solution_categories');
    expect(categories.length).toBeGreaterThanOrEqual(1);
    for (const category of categories) expect(SOLUTION_CATEGORIES).toContain(category);
    expect(['Free', 'Commercial']).toContain(field('license_type'));
  });

  it('is deployable by the manager: the image compose builds, the package version, the type', () => {
    expect(field('manager_supported')).toBe(true);
    const image = String(
      at(parseYaml('docker-compose.yml'), 'services', 'connector-threatstream', 'image'),
    );
    expect(field('container_image')).toBe(image.replace(/:[^:/]+$/, ''));
    expect(field('container_version')).toBe(at(packageJson, 'version'));
    expect(field('container_type')).toBe(schema.properties.CONNECTOR_TYPE?.const);
  });

  it('points at a PNG logo in __metadata__', () => {
    const logo = String(field('logo'));
    expect(logo).toMatch(/^__metadata__\/[\w-]+\.png$/);
    const bytes = readFileSync(join(ROOT, logo));
    expect(bytes.subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
  });
});
