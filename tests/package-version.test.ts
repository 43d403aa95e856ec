import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { PackageVersionError, packageVersion } from '../src/package-version';

let dir: string | undefined;

afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A package root holding `packageJson`, and a folder two levels below it. */
function packageTree(packageJson: string): string {
  dir = mkdtempSync(path.join(tmpdir(), 'package-version-'));
  writeFileSync(path.join(dir, 'package.json'), packageJson);
  const nested = path.join(dir, 'dist', 'opencti');
  mkdirSync(nested, { recursive: true });
  return nested;
}

describe('packageVersion', () => {
  it("is the project's own version when read from the sources", () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(packageVersion()).toBe(version);
  });

  it('reads the nearest package.json above the compiled code, as in the image', () => {
    expect(packageVersion(packageTree('{"name":"x","version":"9.8.7"}'))).toBe('9.8.7');
  });

  it('fails with its own error when that package.json has no version', () => {
    const from = packageTree('{"name":"x"}');
    expect(() => packageVersion(from)).toThrow(PackageVersionError);
    expect(() => packageVersion(from)).toThrow(/has no readable version/);
  });
});
