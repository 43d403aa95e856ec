import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { startSimulator } from '../stand-ins/threatstream/simulator';
import { API_KEY, USERNAME } from './support/connector-env';
import { DAEMON_MAIN, ensureBuilt } from './support/daemon-process';

const ROOT = path.resolve(__dirname, '..');

/**
 * Runs the built connector with the flags, in `cwd`, with only the variables given; without
 * blocking, so that a stand-in in this process can answer it.
 */
function runWith(env: Record<string, string>, cwd: string, args: string[]) {
  const child = spawn(process.execPath, [DAEMON_MAIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

const run = (...args: string[]) => runWith({}, ROOT, args);

describe('command line', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it.each(['--help', '-h'])(
    '%s prints the usage and exits 0, whatever the config',
    async (flag) => {
      const { code, stdout } = await run(flag);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^Usage: node dist\/main\.js \[options\]/);
      for (const option of ['--dry-run', '--out DIR', '--state FILE', '--version']) {
        expect(stdout).toContain(option);
      }
      for (const name of ['config.yml', 'ANOMALI_API_KEY', 'OPENCTI_URL', 'CONNECTOR_ID']) {
        expect(stdout).toContain(name);
      }
      expect(stdout).toContain('README.md');
    },
  );

  it.each(['--version', '-v'])('%s prints the package version', async (flag) => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(await run(flag)).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('ends a dry run from the sample config at once when ThreatStream refuses the key', async () => {
    const simulator = await startSimulator({ username: USERNAME, apiKey: API_KEY, total: 10 });
    try {
      const dir = mkdtempSync(path.join(tmpdir(), 'cli-'));
      copyFileSync(path.join(ROOT, 'config.yml.sample'), path.join(dir, 'config.yml'));
      const env = {
        ANOMALI_URL: simulator.url,
        ANOMALI_USERNAME: USERNAME,
        ANOMALI_API_KEY: 'wrong',
      };
      const { code, stdout } = await runWith(env, dir, [
        '--dry-run',
        '--out',
        'out',
        '--state',
        'state',
      ]);
      expect(code).toBe(1);
      const errors = stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as { level: string; message: string })
        .filter((entry) => entry.level === 'error');
      expect(errors).toEqual([
        expect.objectContaining({
          message:
            'ThreatStream rejected the credentials (HTTP 401): check ANOMALI_USERNAME and ANOMALI_API_KEY',
        }),
      ]);
      expect(simulator.requests.count).toBe(1);
    } finally {
      await simulator.close();
    }
  });

  it('warns once that ThreatStream TLS verification is off, however many requests it makes', async () => {
    const simulator = await startSimulator({ username: USERNAME, apiKey: API_KEY, total: 10 });
    try {
      const dir = mkdtempSync(path.join(tmpdir(), 'cli-'));
      copyFileSync(path.join(ROOT, 'config.yml.sample'), path.join(dir, 'config.yml'));
      const env = {
        ANOMALI_URL: simulator.url,
        ANOMALI_USERNAME: USERNAME,
        ANOMALI_API_KEY: API_KEY,
        ANOMALI_SSL_VERIFY: 'false',
      };
      const args = ['--dry-run', '--out', 'out', '--state', 'state'];
      const { code, stdout } = await runWith(env, dir, args);
      expect(code).toBe(0);
      const warnings = stdout
        .split('\n')
        .filter((line) => line.includes('TLS certificate verification of ThreatStream'));
      expect(warnings).toHaveLength(1);
      expect(simulator.requests.count).toBeGreaterThan(1);
    } finally {
      await simulator.close();
    }
  });

  it('refuses an unknown option with exit 2 and the usage', async () => {
    const { code, stderr } = await run('--colour');
    expect(code).toBe(2);
    expect(stderr).toMatch(/Unknown option '--colour'[\s\S]*Usage:/);
  });
});
