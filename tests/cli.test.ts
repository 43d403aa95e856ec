import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { DAEMON_MAIN, ensureBuilt } from './support/daemon-process';

const ROOT = path.resolve(__dirname, '..');

/** Runs the built connector with the flags and an environment without any setting. */
function run(...args: string[]) {
  const result = spawnSync(process.execPath, [DAEMON_MAIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('command line', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it.each(['--help', '-h'])('%s prints the usage and exits 0, whatever the config', (flag) => {
    const { code, stdout } = run(flag);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: node dist\/main\.js \[options\]/);
    for (const option of ['--dry-run', '--out DIR', '--state FILE', '--version']) {
      expect(stdout).toContain(option);
    }
    for (const name of ['config.yml', 'ANOMALI_API_KEY', 'OPENCTI_URL', 'CONNECTOR_ID']) {
      expect(stdout).toContain(name);
    }
    expect(stdout).toContain('README.md');
  });

  it.each(['--version', '-v'])('%s prints the package version', (flag) => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(run(flag)).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('refuses an unknown option with exit 2 and the usage', () => {
    const { code, stderr } = run('--colour');
    expect(code).toBe(2);
    expect(stderr).toMatch(/Unknown option '--colour'[\s\S]*Usage:/);
  });
});
