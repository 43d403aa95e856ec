import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parseDocument } from 'yaml';
import { SECTIONS, envName, loadConfig } from '../src/config';
import {
  ENV_NAMES,
  KEYS,
  REQUIRED,
  REQUIRED_FOR_DRY_RUN,
  SECRETS,
  VALID,
  defaults,
  emptyDir,
  keyOfEnv,
  type Env,
} from './deployment/config-probes';
import { ROOT, at, isRecord, parseYaml, read, sorted, stringList } from './deployment/files';

/**
 * The deployment files and the README document the configuration schema of src/config.ts. These
 * checks keep them from drifting: every key everywhere, nothing unknown, the documented defaults
 * the real ones, and the container files sane. All static: no Docker needed.
 */

// ---------------------------------------------------------------- compose and env helpers

/**
 * Docker Compose interpolation, as far as these files use it: $$, $VAR, ${VAR}, ${VAR:-default},
 * ${VAR-default}, ${VAR:?error}, ${VAR?error}, nested in defaults.
 */
function interpolate(text: string, vars: Env): string {
  let out = '';
  for (let i = 0; i < text.length;) {
    if (text[i] !== '$') {
      out += text[i++];
    } else if (text[i + 1] === '$') {
      out += '$';
      i += 2;
    } else if (text[i + 1] === '{') {
      let depth = 0;
      let end = i + 1;
      for (; end < text.length; end++) {
        if (text[end] === '{') depth++;
        if (text[end] === '}' && --depth === 0) break;
      }
      if (end >= text.length) throw new Error(`unterminated \${ in ${text}`);
      const inner = text.slice(i + 2, end);
      const match = /^([A-Za-z_]\w*)(?:(:?)([-?])([\s\S]*))?$/.exec(inner);
      if (!match) throw new Error(`unsupported interpolation \${${inner}}`);
      const [, name = '', colon, operator, operand = ''] = match;
      const value = vars[name];
      const missing = value === undefined || (colon === ':' && value === '');
      if (operator === '-') out += missing ? interpolate(operand, vars) : value;
      else if (operator === '?' && missing) throw new Error(`${name}: ${operand}`);
      else out += value ?? '';
      i = end + 1;
    } else {
      const name = /^[A-Za-z_]\w*/.exec(text.slice(i + 1))?.[0];
      if (name === undefined) out += text[i++];
      else {
        out += vars[name] ?? '';
        i += 1 + name.length;
      }
    }
  }
  return out;
}

/** Names of the variables a compose text needs from .env: referenced without a default. */
function variablesWithoutDefault(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(/(?<!\$)\$\{([A-Za-z_]\w*)(:?[-?+][^}]*)?\}/g)) {
    const [, name = '', operator] = match;
    if (operator === undefined || !/^:?-/.test(operator)) names.add(name);
  }
  return names;
}

/** NAME=value lines of an env file; commented-out assignments are listed separately. */
function readEnvFile(file: string): { values: Record<string, string>; commented: Set<string> } {
  const values: Record<string, string> = {};
  const commented = new Set<string>();
  for (const line of read(file).split('\n')) {
    const active = /^([A-Za-z_]\w*)=(.*)$/.exec(line);
    if (active) values[active[1] ?? ''] = active[2] ?? '';
    const inactive = /^#\s*([A-Z_][A-Z0-9_]*)=/.exec(line);
    if (inactive) commented.add(inactive[1] ?? '');
  }
  return { values, commented };
}

/** The nearest `# Required` / `# Optional (default: …)` line in the comment block above a line. */
function markerAbove(lines: string[], index: number): string | undefined {
  for (let i = index - 1; i >= 0 && /^\s*#/.test(lines[i] ?? ''); i--) {
    const marker = /^\s*#\s*(Required|Optional \(default: )/.exec(lines[i] ?? '');
    if (marker) return marker[1] === 'Required' ? 'Required' : 'Optional';
  }
  return undefined;
}

// ---------------------------------------------------------------- the documents

interface ComposeEntry {
  name: string;
  /** undefined for a bare `- NAME` entry, which passes the variable through only if it is set. */
  value: string | undefined;
  marker: string | undefined;
}

function composeEnvironment(): ComposeEntry[] {
  const compose = parseYaml('docker-compose.yml');
  const list = stringList(
    at(compose, 'services', 'connector-threatstream', 'environment'),
    'environment',
  );
  const lines = read('docker-compose.yml').split('\n');
  return list.map((entry) => {
    const [name = '', ...rest] = entry.split('=');
    const lineIndex = lines.findIndex((line) => line.trim() === `- ${entry}`);
    expect(lineIndex).toBeGreaterThanOrEqual(0);
    return {
      name,
      value: rest.length === 0 ? undefined : rest.join('='),
      marker: markerAbove(lines, lineIndex),
    };
  });
}

interface SampleKey {
  section: string;
  key: string;
  /** Present only as a commented-out `# key: value` line: documented, but left unset. */
  commented: boolean;
  marker: string | undefined;
}

function sampleKeys(): SampleKey[] {
  const lines = read('config.yml.sample').split('\n');
  const keys: SampleKey[] = [];
  let section: string | undefined;
  for (const [i, line] of lines.entries()) {
    const header = /^([a-z_]+):\s*$/.exec(line);
    if (header) section = header[1];
    const entry = /^ {2}(# )?([a-z_]+):(\s|$)/.exec(line);
    if (entry && section !== undefined) {
      keys.push({
        section,
        key: entry[2] ?? '',
        commented: entry[1] !== undefined,
        marker: markerAbove(lines, i),
      });
    }
  }
  return keys;
}

interface ReadmeRow {
  heading: string;
  yamlKey: string;
  envName: string;
  defaultValue: string;
  mandatory: string;
}

/** Rows of the configuration tables: six cells, the third one a single `ENV_VAR`. */
function readmeRows(): ReadmeRow[] {
  const rows: ReadmeRow[] = [];
  let heading = '';
  for (const line of read('README.md').split('\n')) {
    if (line.startsWith('#')) heading = line.replace(/^#+\s*/, '');
    if (!/^\|.*\|\s*$/.test(line)) continue;
    const cells = line
      .trim()
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
    const env = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[2] ?? '');
    if (cells.length !== 6 || !env) continue;
    rows.push({
      heading,
      yamlKey: (cells[1] ?? '').replace(/`/g, ''),
      envName: env[1] ?? '',
      defaultValue: cells[3] ?? '',
      mandatory: cells[4] ?? '',
    });
  }
  return rows;
}

/** Dockerfile instructions (comments dropped, continuation lines joined), split into stages. */
function dockerfileStages(): { instruction: string; args: string }[][] {
  const joined = read('Dockerfile')
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const stages: { instruction: string; args: string }[][] = [];
  for (const line of joined.split('\n')) {
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const instruction = (match[1] ?? '').toUpperCase();
    if (instruction === 'FROM') stages.push([]);
    stages.at(-1)?.push({ instruction, args: (match[2] ?? '').trim() });
  }
  return stages;
}

/** A HEALTHCHECK instruction's options (--interval=30s …) and its exec-form command. */
function dockerHealthcheck(instructions: string[]): {
  options: Record<string, string>;
  command: string[];
} {
  expect(instructions).toHaveLength(1);
  const [, flags = '', command = '[]'] =
    /^(.*?)\bCMD\s+(\[.*\])$/.exec(instructions[0] ?? '') ?? [];
  const options = Object.fromEntries(
    [...flags.matchAll(/--([a-z-]+)=(\S+)/g)].map((m) => [m[1] ?? '', m[2] ?? '']),
  );
  return { options, command: stringList(JSON.parse(command), 'HEALTHCHECK CMD') };
}

interface PackageJson {
  version: string;
  license: string;
  engines: { node: string };
  devDependencies: Record<string, string>;
}

function enginesMajor(packageJson: PackageJson): number {
  return Number(/^>=(\d+)/.exec(packageJson.engines.node)?.[1]);
}

/** The exact Node.js version .ci/run installs and runs everything with. */
function ciNodeVersion(): string {
  const version = /^NODE_VERSION=(\d+\.\d+\.\d+)$/m.exec(read('.ci/run'))?.[1];
  if (version === undefined) throw new Error('.ci/run pins no NODE_VERSION=x.y.z');
  return version;
}

// ---------------------------------------------------------------- the checks

describe('the schema as seen by these checks', () => {
  it('has required keys, secrets and four sections', () => {
    expect(sorted(REQUIRED)).toEqual(
      sorted([
        'OPENCTI_URL',
        'OPENCTI_TOKEN',
        'CONNECTOR_ID',
        'ANOMALI_USERNAME',
        'ANOMALI_API_KEY',
      ]),
    );
    expect(sorted(REQUIRED_FOR_DRY_RUN)).toEqual(['ANOMALI_API_KEY', 'ANOMALI_USERNAME']);
    expect(SECRETS).toContain('OPENCTI_TOKEN');
    expect(SECRETS).toContain('ANOMALI_API_KEY');
    expect(new Set(KEYS.map(([section]) => section))).toEqual(new Set(SECTIONS));
  });
});

describe('YAML documents', () => {
  it.each(['docker-compose.yml', 'docker-compose.opencti.yml', 'config.yml.sample'])(
    '%s parses without errors or warnings',
    (file) => {
      expect(isRecord(parseYaml(file))).toBe(true);
    },
  );
});

describe('docker-compose.yml', () => {
  const compose = parseYaml('docker-compose.yml');
  const service = at(compose, 'services', 'connector-threatstream');
  const entries = composeEnvironment();

  it('builds and runs the connector the standard way', () => {
    expect(at(service, 'build')).toBe('.');
    expect(at(service, 'image')).toBe('opencti/connector-threatstream:latest');
    expect(at(service, 'restart')).toBe('always');
    expect(at(service, 'stop_grace_period')).toBe('30s');
  });

  it('joins an existing OpenCTI network', () => {
    expect(at(compose, 'networks', 'default', 'external')).toBe(true);
    expect(at(compose, 'networks', 'default', 'name')).toBe('${OPENCTI_NETWORK:-xtm_default}');
  });

  it('checks /health on the metrics port with node, and exposes that endpoint', () => {
    const test = stringList(at(service, 'healthcheck', 'test'), 'healthcheck.test');
    expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(test[3]).toMatch(/fetch\('http:\/\/127\.0\.0\.1:'/);
    expect(test[3]).toContain('process.env.CONNECTOR_METRICS_PORT || 9095');
    expect(test[3]).toContain("'/health'");
    expect(test[3]).toContain('process.env.CONNECTOR_EXPOSE_METRICS');
    expect(entries.find((e) => e.name === 'CONNECTOR_EXPOSE_METRICS')?.value).toBe('true');
  });

  it('lists every variable of the schema once, and nothing else', () => {
    const names = entries.map((e) => e.name);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
    expect(sorted(names)).toEqual(sorted(ENV_NAMES));
  });

  it('marks each variable Required or Optional (default: …), as the schema does', () => {
    for (const { name, marker } of entries) {
      expect({ name, marker }).toEqual({
        name,
        marker: REQUIRED.has(name) ? 'Required' : 'Optional',
      });
    }
  });

  it('takes every secret from .env, never from the file itself', () => {
    for (const { name, value } of entries.filter((e) => SECRETS.has(e.name))) {
      expect({ name, value }).toEqual({ name, value: expect.stringMatching(/^\$\{[A-Z_]+/) });
    }
  });

  it('holds the schema defaults, except the metrics switch its healthcheck needs', () => {
    const { values } = readEnvFile('.env.sample');
    const vars: Env = Object.fromEntries(
      Object.entries(values).map(([name, value]) => [
        name,
        value === 'ChangeMe' ? (VALID[name] ?? `value-of-${name.toLowerCase()}`) : value,
      ]),
    );
    vars.CONNECTOR_THREATSTREAM_ID = VALID.CONNECTOR_ID;
    const env: Env = {};
    for (const { name, value } of entries) {
      env[name] = value === undefined ? vars[name] : interpolate(value, vars);
    }
    const fromCompose = loadConfig(env, emptyDir());
    const required = Object.fromEntries([...REQUIRED].map((name) => [name, env[name]]));
    const expected = defaults(required);
    expected.connector.expose_metrics = true;
    expect(fromCompose).toEqual(expected);
  });
});

describe('docker-compose.opencti.yml', () => {
  const stack = parseYaml('docker-compose.opencti.yml');
  const connector = parseYaml('docker-compose.yml');
  const environment = (service: string) =>
    stringList(at(stack, 'services', service, 'environment'), `${service}.environment`);

  it('brings up the OpenCTI platform and its dependencies', () => {
    const services = Object.keys(at(stack, 'services') as Record<string, unknown>);
    expect(sorted(services)).toEqual(
      sorted(['opencti', 'worker', 'rabbitmq', 'redis', 'elasticsearch', 'minio']),
    );
    expect(at(stack, 'services', 'rabbitmq', 'image')).toMatch(/^rabbitmq:[\d.]+-management$/);
    expect(at(stack, 'services', 'opencti', 'image')).toMatch(/^opencti\/platform:/);
    expect(at(stack, 'services', 'worker', 'image')).toMatch(/^opencti\/worker:/);
  });

  it('lets the connector reach http://opencti:8080 and rabbitmq:5672 on a shared network', () => {
    const opencti = environment('opencti');
    expect(opencti).toContain('APP__PORT=8080');
    expect(opencti).toContain('RABBITMQ__HOSTNAME=rabbitmq');
    expect(opencti).toContain('RABBITMQ__PORT=5672');
    const connectorEnv = stringList(
      at(connector, 'services', 'connector-threatstream', 'environment'),
      'environment',
    );
    expect(connectorEnv).toContain('OPENCTI_URL=http://opencti:8080');
    expect(at(stack, 'networks', 'default', 'name')).toBe(
      at(connector, 'networks', 'default', 'name'),
    );
  });

  it('runs the same 7.x platform release by default as .env.sample sets and the README names', () => {
    const { values } = readEnvFile('.env.sample');
    const version = values.OPENCTI_VERSION ?? '';
    expect(version).toMatch(/^7\.\d{6}\.\d+$/);
    for (const service of ['opencti', 'worker']) {
      const image = String(at(stack, 'services', service, 'image'));
      expect(interpolate(image, {})).toMatch(new RegExp(`:${version.replace(/\./g, '\\.')}$`));
    }
    expect(read('README.md')).toContain(`\`${version}\``);
  });

  it('gets every variable without a default from .env.sample, secrets as ChangeMe', () => {
    const { values, commented } = readEnvFile('.env.sample');
    const needed = new Set([
      ...variablesWithoutDefault(read('docker-compose.yml')),
      ...variablesWithoutDefault(read('docker-compose.opencti.yml')),
    ]);
    expect(sorted([...needed].filter((name) => !(name in values)))).toEqual([]);
    for (const [name, value] of Object.entries(values)) {
      if (/TOKEN|KEY|PASS|SECRET/.test(name) && value !== '') {
        expect({ name, value }).toEqual({ name, value: 'ChangeMe' });
      }
    }
    for (const name of [
      'OPENCTI_ADMIN_EMAIL',
      'OPENCTI_ADMIN_PASSWORD',
      'OPENCTI_ADMIN_TOKEN',
      'CONNECTOR_THREATSTREAM_ID',
      'ANOMALI_USERNAME',
      'ANOMALI_API_KEY',
      'MINIO_ROOT_PASSWORD',
      'RABBITMQ_DEFAULT_PASS',
    ]) {
      expect(values).toHaveProperty([name]);
    }
    // A bare `- NAME` compose entry is only ever set from .env: show how.
    const bare = composeEnvironment().filter((e) => e.value === undefined);
    for (const { name } of bare) expect(commented.has(name) || name in values).toBe(true);
  });
});

describe('config.yml.sample', () => {
  const keys = sampleKeys();

  it('documents every key of the schema, in its section, and nothing else', () => {
    const documented = keys.map(({ section, key }) => `${section}.${key}`);
    expect(documented.filter((k, i) => documented.indexOf(k) !== i)).toEqual([]);
    expect(sorted(documented)).toEqual(sorted(KEYS.map(([s, k]) => `${s}.${k}`)));
    const parsed = parseYaml('config.yml.sample');
    expect(Object.keys(parsed as Record<string, unknown>)).toEqual([...SECTIONS]);
    const base = defaults(Object.fromEntries([...REQUIRED].map((name) => [name, VALID[name]])));
    for (const { section, key, commented } of keys) {
      expect(Object.keys(at(parsed, section) as Record<string, unknown>).includes(key)).toBe(
        !commented,
      );
      // Only a key without a default may stay commented out ("unset"); the others show it.
      if (commented)
        expect({ key, default: at(base, section, key) }).toEqual({ key, default: undefined });
    }
  });

  it('marks each key Required or Optional (default: …), as the schema does', () => {
    for (const { section, key, marker } of keys) {
      const name = envName(section, key);
      expect({ name, marker }).toEqual({
        name,
        marker: REQUIRED.has(name) ? 'Required' : 'Optional',
      });
    }
  });

  it('holds the schema defaults once its ChangeMe placeholders are filled in', () => {
    const sample = read('config.yml.sample');
    const dir = emptyDir();
    let section = '';
    const filled = sample
      .split('\n')
      .map((line) => {
        section = /^([a-z_]+):\s*$/.exec(line)?.[1] ?? section;
        const entry = /^( {2}([a-z_]+): )ChangeMe$/.exec(line);
        if (!entry) return line;
        const name = envName(section, entry[2] ?? '');
        const value = VALID[name];
        if (value === undefined) throw new Error(`no valid value to replace ${name}'s ChangeMe`);
        return `${entry[1]}${value}`;
      })
      .join('\n');
    expect(filled).not.toMatch(/: ChangeMe$/m);
    writeFileSync(join(dir, 'config.yml'), filled);
    const fromSample = loadConfig({}, dir);
    const required = Object.fromEntries(
      [...REQUIRED].map((name) => {
        const [s = '', k = ''] = (keyOfEnv.get(name) ?? '').split('.');
        const value: unknown = at(parseDocument(filled).toJS(), s, k);
        return [name, String(value)];
      }),
    );
    expect(fromSample).toEqual(defaults(required));
  });

  it('leaves secrets as ChangeMe or empty', () => {
    const parsed = parseYaml('config.yml.sample');
    for (const name of SECRETS) {
      const [section = '', key = ''] = (keyOfEnv.get(name) ?? '').split('.');
      const value = at(parsed, section, key);
      expect({ name, value }).toEqual({ name, value: REQUIRED.has(name) ? 'ChangeMe' : null });
    }
  });
});

describe('README.md configuration tables', () => {
  const rows = readmeRows();

  it('have one row per key of the schema, and no unknown variable', () => {
    const names = rows.map((row) => row.envName);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
    expect(sorted(names)).toEqual(sorted(ENV_NAMES));
  });

  it('pair each variable with its config.yml key', () => {
    for (const row of rows) {
      expect({ env: row.envName, yaml: row.yamlKey }).toEqual({
        env: row.envName,
        yaml: keyOfEnv.get(row.envName),
      });
    }
  });

  it('group OpenCTI, base connector (CONNECTOR_*, MQ_*) and ThreatStream variables', () => {
    const headingOf = (section: string) =>
      new Set(rows.filter((r) => r.yamlKey.startsWith(`${section}.`)).map((r) => r.heading));
    const opencti = headingOf('opencti');
    const connector = headingOf('connector');
    const mq = headingOf('mq');
    const anomali = headingOf('anomali');
    for (const headings of [opencti, connector, anomali]) expect(headings.size).toBe(1);
    expect(mq).toEqual(connector);
    expect(new Set([...opencti, ...connector, ...anomali]).size).toBe(3);
  });

  it('say which keys are mandatory, as the schema does', () => {
    for (const row of rows) {
      const expected = REQUIRED.has(row.envName)
        ? REQUIRED_FOR_DRY_RUN.has(row.envName)
          ? /^Yes$/
          : /^Yes, except for a dry run$/
        : /^No$/;
      expect({ env: row.envName, mandatory: row.mandatory }).toEqual({
        env: row.envName,
        mandatory: expect.stringMatching(expected),
      });
    }
  });

  it('show the same default as config.yml.sample for keys with a plain value', () => {
    const parsed = parseYaml('config.yml.sample');
    for (const row of rows) {
      const [section = '', key = ''] = row.yamlKey.split('.');
      if (REQUIRED.has(row.envName) || !isRecord(at(parsed, section))) continue;
      const value = (at(parsed, section) as Record<string, unknown>)[key];
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        continue; // no default to show: the README says what applies instead
      }
      expect({ env: row.envName, default: row.defaultValue }).toEqual({
        env: row.envName,
        default: `\`${String(value)}\``,
      });
    }
  });
});

describe('entrypoint.sh', () => {
  const script = read('entrypoint.sh');

  it('is valid POSIX sh and executable', () => {
    expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    expect(() => execFileSync('sh', ['-n', join(ROOT, 'entrypoint.sh')])).not.toThrow();
    expect(statSync(join(ROOT, 'entrypoint.sh')).mode & 0o111).toBe(0o111);
  });

  it('replaces itself with node, from the image working directory', () => {
    expect(script).toMatch(/^set -eu$/m);
    expect(script).toMatch(/^cd \/opt\/opencti-connector-threatstream$/m);
    expect(script).toMatch(/^exec node dist\/main\.js "\$@"$/m);
  });
});

describe('the Node.js version', () => {
  const packageJson = JSON.parse(read('package.json')) as PackageJson;
  const ci = read('.ci/run');

  it('package.json requires Node.js 24 or later and types its API at 24', () => {
    expect(packageJson.engines.node).toBe('>=24');
    expect(packageJson.devDependencies['@types/node']).toMatch(/^24\.\d+\.\d+$/);
  });

  it('.ci/run installs its pinned Node.js 24 from the npm registry before anything else runs', () => {
    expect(ciNodeVersion().split('.')[0]).toBe(String(enginesMajor(packageJson)));
    const order = [
      '"node@$NODE_VERSION"',
      'export PATH="$NODE_BIN:$PATH"',
      '[ "$actual" = "v$NODE_VERSION" ] || fatal',
      'echo "node --version: $actual',
      'npm ci --no-audit --no-fund',
      'npm run lint',
      'npm run build',
      'npm test',
    ].map((line) => ({ line, at: ci.indexOf(line) }));
    expect(order.filter((o) => o.at < 0)).toEqual([]);
    expect(order.map((o) => o.at)).toEqual([...order.map((o) => o.at)].sort((a, b) => a - b));
  });

  it('keeps the Node.js it downloads out of git, Prettier and the image', () => {
    const lines = (file: string) =>
      read(file)
        .split('\n')
        .map((line) => line.trim());
    expect(ci).toMatch(/^NODE_HOME="\$PWD\/\.ci\/\.node\/\$NODE_VERSION"$/m);
    expect(lines('.gitignore')).toContain('.ci/.node/');
    expect(lines('.prettierignore')).toContain('.ci/.node');
    expect(lines('.dockerignore')).toContain('.ci');
  });
});

describe('Dockerfile', () => {
  const stages = dockerfileStages();
  const final = stages.at(-1) ?? [];
  const args = (stage: typeof final, instruction: string) =>
    stage.filter((i) => i.instruction === instruction).map((i) => i.args);
  const packageJson = JSON.parse(read('package.json')) as PackageJson;

  it('builds every stage on one pinned Node LTS slim image, the one CI runs and package.json allows', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    const images = stages.map((stage) => /^(\S+)/.exec(stage[0]?.args ?? '')?.[1]);
    expect(new Set(images).size).toBe(1);
    const version = /^node:(\d+)\.\d+\.\d+-bookworm-slim$/.exec(images[0] ?? '');
    expect(version).not.toBeNull();
    const major = Number(version?.[1]);
    expect(major % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(enginesMajor(packageJson));
    expect(images[0]).toBe(`node:${ciNodeVersion()}-bookworm-slim`);
  });

  it('compiles in one stage, installs production dependencies in another, ships neither npm', () => {
    expect(args(stages[0] ?? [], 'RUN').join('\n')).toMatch(/npm ci[\s\S]*npm run build/);
    const dependencies = stages.findIndex((stage) =>
      args(stage, 'RUN').some((run) => run.includes('npm ci --omit=dev')),
    );
    expect(dependencies).toBeGreaterThan(0);
    expect(dependencies).toBeLessThan(stages.length - 1);
    const dependencyStage = /\bAS\s+(\S+)$/i.exec(stages[dependencies]?.[0]?.args ?? '')?.[1];
    const copies = args(final, 'COPY').join('\n');
    expect(copies).toMatch(new RegExp(`--from=${dependencyStage ?? '?'} \\S*node_modules`));
    expect(copies).toMatch(/--from=\S+ \S*dist/);
    const runs = args(final, 'RUN').join('\n');
    expect(runs).not.toMatch(/\bnpm (ci|install)\b/);
    const removal = /rm -rf ([^&;]*)/.exec(runs)?.[1]?.split(/\s+/) ?? [];
    expect(removal).toContain('/usr/local/lib/node_modules'); // npm's and corepack's code
    for (const bin of ['npm', 'npx', 'corepack'])
      expect(removal).toContain(`/usr/local/bin/${bin}`);
  });

  it('labels the image the OCI way, with the package version and licence', () => {
    const text = args(final, 'LABEL').join(' ');
    const labels = new Map(
      [...text.matchAll(/(org\.opencontainers\.image\.\w+)="([^"]*)"/g)].map((m) => [
        m[1] ?? '',
        m[2] ?? '',
      ]),
    );
    expect(sorted(labels.keys())).toEqual(
      sorted(
        ['title', 'description', 'version', 'source', 'licenses'].map(
          (k) => `org.opencontainers.image.${k}`,
        ),
      ),
    );
    expect(labels.get('org.opencontainers.image.version')).toBe(packageJson.version);
    expect(labels.get('org.opencontainers.image.licenses')).toBe(packageJson.license);
    expect(labels.get('org.opencontainers.image.title')).toMatch(/ThreatStream/);
  });

  it('runs the entrypoint as a non-root user from the app directory', () => {
    const users = args(final, 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(args(final, 'WORKDIR').at(-1)).toBe('/opt/opencti-connector-threatstream');
    expect(args(final, 'ENTRYPOINT')).toEqual(['["/entrypoint.sh"]']);
    expect(args(final, 'COPY').join('\n')).toMatch(/entrypoint\.sh \/entrypoint\.sh/);
  });

  it('checks health as docker-compose.yml does: same command, same timings', () => {
    const image = dockerHealthcheck(args(final, 'HEALTHCHECK'));
    const compose = at(
      parseYaml('docker-compose.yml'),
      'services',
      'connector-threatstream',
      'healthcheck',
    );
    const composeTest = stringList(at(compose, 'test'), 'healthcheck.test').map((part) =>
      interpolate(part, {}),
    );
    expect(image.command).toEqual(composeTest.slice(1));
    expect(image.options).toEqual({
      interval: at(compose, 'interval'),
      timeout: at(compose, 'timeout'),
      retries: String(at(compose, 'retries')),
      'start-period': at(compose, 'start_period'),
    });
  });

  it('sets production defaults and no secret', () => {
    const env = stages.flatMap((stage) => args(stage, 'ENV')).join(' ');
    expect(env).toContain('NODE_ENV=production');
    expect(env).toContain('CONNECTOR_TYPE=EXTERNAL_IMPORT');
    // The heap sizing the benchmark measures (it reads this line) and the README documents.
    const heap = 'NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=1024"';
    expect(env).toContain(heap);
    expect(read('README.md')).toContain(heap);
    const names = [...env.matchAll(/([A-Za-z_]\w*)=/g)].map((m) => m[1] ?? '');
    expect(names.filter((name) => /TOKEN|KEY|PASS|SECRET/i.test(name))).toEqual([]);
    const buildArgs = stages.flatMap((stage) => args(stage, 'ARG')).join(' ');
    expect(buildArgs).not.toMatch(/TOKEN|KEY|PASS|SECRET/i);
  });

  it('ships the connector alone: neither the stand-ins, the demo, the benchmark nor the tests', () => {
    // The source operands of every COPY: all its words but the options and the destination.
    const sources = stages
      .flatMap((stage) => args(stage, 'COPY'))
      .flatMap((copy) =>
        copy
          .split(/\s+/)
          .filter((word) => !word.startsWith('--'))
          .slice(0, -1),
      );
    const wholeContextOrTools = /^(\.\/?$|(\.\/)?(stand-ins|demo|bench|tests)(\/|$))/;
    expect(sources).toContain('src');
    expect(sources.filter((source) => wholeContextOrTools.test(source))).toEqual([]);
    // With rootDir src, an import from outside src/ fails the image build.
    const build = JSON.parse(read('tsconfig.build.json')) as {
      compilerOptions: { rootDir: string };
      include: string[];
    };
    expect(build.compilerOptions.rootDir).toBe('src');
    expect(build.include).toEqual(['src']);
    expect(read('.dockerignore').split('\n')).toEqual(
      expect.arrayContaining(['stand-ins', 'demo', 'bench']),
    );
  });

  it('keeps local configuration, secrets and build output out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim());
    for (const entry of [
      'node_modules',
      'dist',
      'tests',
      'coverage',
      '.git',
      'config.yml',
      '.env',
      '*.cpuprofile',
      'threatstream-bundles/',
      'threatstream-state.json',
    ]) {
      expect(ignored).toContain(entry);
    }
  });
});
