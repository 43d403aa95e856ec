import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configDoc, configJsonSchema } from './config-metadata';

/**
 * `npm run metadata`: writes the generated files of `__metadata__/`. The test suite compares the
 * committed files with what this produces, so a schema change without a run here fails it.
 */

export const GENERATED_FILES = [
  '__metadata__/connector_config_schema.json',
  '__metadata__/CONNECTOR_CONFIG_DOC.md',
] as const;

export type GeneratedFile = (typeof GENERATED_FILES)[number];

/** Each generated file's text. Prettier leaves these files alone: the test compares them whole. */
export function generatedFiles(): Record<GeneratedFile, string> {
  const schema = configJsonSchema();
  return {
    '__metadata__/connector_config_schema.json': `${JSON.stringify(schema, null, 2)}\n`,
    '__metadata__/CONNECTOR_CONFIG_DOC.md': configDoc(schema),
  };
}

function main(): void {
  const files = generatedFiles();
  for (const file of GENERATED_FILES) {
    writeFileSync(join(process.cwd(), file), files[file]);
    console.log(`wrote ${file}`);
  }
}

if (require.main === module) main();
