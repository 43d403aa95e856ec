import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export class PackageVersionError extends Error {
  override name = 'PackageVersionError';
}

const packageJson = z.object({ version: z.string().min(1) });

/**
 * The connector's version, from the nearest package.json above `from`: the sources, the compiled
 * code and the image (which ships package.json beside dist/) all have one there.
 */
export function packageVersion(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) return versionIn(file);
    if (path.dirname(dir) === dir) throw new PackageVersionError(`no package.json above ${from}`);
  }
}

function versionIn(file: string): string {
  try {
    return packageJson.parse(JSON.parse(readFileSync(file, 'utf8'))).version;
  } catch (error) {
    throw new PackageVersionError(`${file} has no readable version`, { cause: error });
  }
}
