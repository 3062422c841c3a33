import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appEventJsonSchema } from '../../lambda/shared/contract/app-event';
import { PRETTIER_CLI, SCHEMA_FILES, SCHEMAS_DIR, schemaFileText } from '../../tools/export-schemas';

describe.each(Object.keys(SCHEMA_FILES))('schemas/%s', (file) => {
  const path = join(SCHEMAS_DIR, file);
  const committed = readFileSync(path, 'utf8');

  test('is current: byte for byte what npm run schemas writes', () => {
    expect(committed).toBe(schemaFileText(file));
  });

  test('passes prettier --check', () => {
    const result = spawnSync(process.execPath, [PRETTIER_CLI, '--check', path], { encoding: 'utf8' });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  });
});

test('the published app-event schema lists the contract fields; the five required ones are required', () => {
  // ../shared/CONTRACT.md, events.user, written out by hand.
  const schema = appEventJsonSchema() as { required: string[]; properties: Record<string, unknown> };
  expect([...schema.required].sort()).toEqual(['eventId', 'occurredAt', 'schemaVersion', 'type', 'userId']);
  expect(Object.keys(schema.properties).sort()).toEqual([
    'country',
    'eventId',
    'occurredAt',
    'properties',
    'schemaVersion',
    'type',
    'userId',
  ]);
});
