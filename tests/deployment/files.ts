import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';

/** Reading the repository's own files, for the static checks of the deployment material. */

export const ROOT = join(__dirname, '..', '..');

export const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

export function readJson(file: string): unknown {
  return JSON.parse(read(file));
}

/** Parses YAML strictly: any error or warning fails, and the result is plain data. */
export function parseYaml(file: string): unknown {
  const document = parseDocument(read(file), { prettyErrors: true, uniqueKeys: true });
  const problems = [...document.errors, ...document.warnings].map((e) => e.message);
  if (problems.length > 0) throw new Error(`${file}: ${problems.join('; ')}`);
  const data: unknown = document.toJS();
  return data;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Follows a path of keys through nested mappings, failing with the path if one is missing. */
export function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const [i, key] of path.entries()) {
    if (!isRecord(current) || !(key in current)) {
      throw new Error(`missing ${path.slice(0, i + 1).join('.')}`);
    }
    current = current[key];
  }
  return current;
}

export function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new Error(`${what} is not a list of strings`);
  }
  return value;
}

export const sorted = (values: Iterable<string>) => [...values].sort();
