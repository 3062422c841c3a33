/** Writes the published JSON Schemas (schemas/*.json) from their one definition in lambda/shared/contract. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appEventJsonSchema } from '../lambda/shared/contract/app-event';

export const SCHEMA_FILES: Record<string, () => Record<string, unknown>> = {
  'events.user.v1.schema.json': appEventJsonSchema,
};

if (require.main === module) {
  for (const [file, schema] of Object.entries(SCHEMA_FILES)) {
    writeFileSync(join(__dirname, '..', 'schemas', file), JSON.stringify(schema(), null, 2) + '\n');
    console.log(`schemas/${file}`);
  }
}
