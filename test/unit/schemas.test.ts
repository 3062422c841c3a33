import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMA_FILES } from '../../tools/export-schemas';

test.each(Object.keys(SCHEMA_FILES))('schemas/%s is current (run npm run schemas)', (file) => {
  const committed = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schemas', file), 'utf8')) as unknown;
  expect(committed).toEqual(SCHEMA_FILES[file]!());
});
