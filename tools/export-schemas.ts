/**
 * Writes the published JSON Schemas (schemas/*.json) from their one definition in
 * lambda/shared/contract, formatted by Prettier with the repository's configuration, so that the
 * files are byte for byte what `prettier --check` accepts (a unit test keeps them current).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appEventJsonSchema } from '../lambda/shared/contract/app-event';

export const SCHEMA_FILES: Record<string, () => Record<string, unknown>> = {
  'events.user.v1.schema.json': appEventJsonSchema,
};

export const SCHEMAS_DIR = join(__dirname, '..', 'schemas');

/** Prettier's command line (its API is ESM-only inside; the CLI works from any caller, jest included). */
export const PRETTIER_CLI = require.resolve('prettier/bin/prettier.cjs');

/** The exact text of schemas/<file>: the schema as JSON, formatted as Prettier formats that path. */
export function schemaFileText(file: string): string {
  const schema = SCHEMA_FILES[file];
  if (!schema) throw new Error(`unknown schema file ${file}`);
  return execFileSync(process.execPath, [PRETTIER_CLI, '--stdin-filepath', join(SCHEMAS_DIR, file)], {
    input: JSON.stringify(schema(), null, 2), // objects stay expanded: Prettier keeps what it is given on several lines
    encoding: 'utf8',
  });
}

if (require.main === module) {
  for (const file of Object.keys(SCHEMA_FILES)) {
    writeFileSync(join(SCHEMAS_DIR, file), schemaFileText(file));
    console.log(`schemas/${file}`);
  }
}
