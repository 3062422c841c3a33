/**
 * The README's reference tables, checked against the code they describe, so that they cannot drift:
 * the stacks, the topics, the topic settings, the local engine versions and the test suites.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEBEZIUM_VERSION } from '../../lib/cdc/debezium-config';
import { LOCAL_KAFKA_VERSION } from '../../lib/config/versions';
import { SETTING_NAMES } from '../../lib/topics/topic-settings';
import { TOPIC_SPECS } from '../../lib/topics/topic-specs';
import { SNOWFLAKE_CONNECTOR } from '../../lib/warehouse/snowflake-config';
import { buildApp, ENVIRONMENTS } from '../support/synth';
import { withSnowflake } from '../support/warehouse';

const ROOT = join(__dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The rows of the first markdown table after a heading, as arrays of cells. */
function tableAfter(heading: string, header: string): string[][] {
  const start = README.indexOf(heading);
  if (start < 0) throw new Error(`README has no heading "${heading}"`);
  const lines = README.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|') && l.includes(header));
  if (first < 0) throw new Error(`no table with "${header}" under "${heading}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

const backticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

test('the stack table lists exactly the stacks of an environment (the warehouse one with a Snowflake account)', () => {
  const { stacks } = buildApp('dev', withSnowflake('dev'));
  const names = Object.values(stacks).map((s) => s.stackName.replace('-dev-', '-<env>-'));
  const rows = tableAfter('## Architecture', '| stack');
  expect(rows.flatMap((r) => backticked(r[0]!)).sort()).toEqual(names.sort());
});

test('the environment commands state the right number of stacks (cdk.json configures no Snowflake account)', () => {
  const perEnvironment = Object.keys(buildApp('dev').stacks).length;
  const words = [
    'zero',
    'one',
    'two',
    'three',
    'four',
    'five',
    'six',
    'seven',
    'eight',
    'nine',
    'ten',
    'eleven',
    'twelve',
    'thirteen',
    'fourteen',
    'fifteen',
    'sixteen',
    'seventeen',
    'eighteen',
  ];
  expect(README).toContain(`# prod's ${words[perEnvironment]} stacks`);
  expect(README).toContain(`# all ${words[perEnvironment * ENVIRONMENTS.length]} stacks`);
});

test('the topic table lists exactly the catalog topics', () => {
  const rows = tableAfter('## Topics', '| topic');
  const listed = rows.flatMap((r) => backticked(r[0]!));
  expect(listed.sort()).toEqual(
    Object.values(TOPIC_SPECS)
      .map((s) => s.name)
      .sort(),
  );
});

test('the settings table lists exactly the topic settings', () => {
  const rows = tableAfter('## Topics', '| setting ');
  expect(rows.map((r) => backticked(r[0]!)[0]).sort()).toEqual([...SETTING_NAMES].sort());
});

test('the local engines table gives the pinned versions', () => {
  const rows = tableAfter('## Local engines', '| engine');
  const text = rows.map((r) => r.join(' ')).join('\n');
  const connectPom = readFileSync(join(ROOT, 'test', 'engines', 'connect', 'pom.xml'), 'utf8');
  const connect = /<kafka\.connect\.version>([^<]+)</.exec(connectPom)![1]!;
  for (const version of [LOCAL_KAFKA_VERSION, connect, DEBEZIUM_VERSION, SNOWFLAKE_CONNECTOR.version])
    expect(text).toContain(version);
});

test('the test table lists exactly the test suites', () => {
  const suites = ['unit', 'engines'].flatMap((project) =>
    readdirSync(join(ROOT, 'test', project))
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => `test/${project}/${f}`),
  );
  const rows = tableAfter('## Tests', '| suite');
  expect(rows.flatMap((r) => backticked(r[0]!)).sort()).toEqual(suites.sort());
});
