/**
 * The lake's columns have ONE definition (lib/telemetry/session-columns.ts): the sessionize SQL's
 * filesystem sink must declare exactly those columns, in that order, with those Flink types, and be
 * partitioned by exactly the partition keys, so that the Parquet files and the Glue table cannot
 * drift apart.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SESSION_COLUMNS, SESSION_PARTITION_KEYS } from '../../lib/telemetry/session-columns';
import { splitTopLevel } from '../support/sql-text';

const SQL = readFileSync(join(__dirname, '..', '..', 'flink-sql', 'sql', 'sessionize.sql'), 'utf8');

interface SinkTable {
  readonly name: string;
  readonly columns: { name: string; type: string }[];
  readonly partitionedBy: string[];
  readonly options: Record<string, string>;
}

/** Every `CREATE TABLE name (...) [PARTITIONED BY (...)] WITH (...)` of the script. */
function createTables(sql: string): SinkTable[] {
  const withoutComments = sql.replace(/--[^\n]*/g, '');
  const re =
    /CREATE TABLE\s+(\w+)\s*\(([\s\S]*?)\)\s*(?:PARTITIONED BY\s*\(([^)]*)\)\s*)?WITH\s*\(([\s\S]*?)\);/gi;
  return [...withoutComments.matchAll(re)].map((m) => ({
    name: m[1] ?? '',
    columns: splitTopLevel(m[2] ?? '', '()<>').map((def) => {
      const [, name = '', type = ''] = /^`?(\w+)`?\s+(.*)$/s.exec(def) ?? [];
      return { name, type: type.replace(/\s+/g, ' ').trim() };
    }),
    partitionedBy: (m[3] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    options: Object.fromEntries(
      [...(m[4] ?? '').matchAll(/'([^']+)'\s*=\s*'([^']*)'/g)].map((o) => [o[1] ?? '', o[2] ?? '']),
    ),
  }));
}

describe('the lake sink of sessionize.sql', () => {
  const lakeSinks = createTables(SQL).filter((t) => t.options.connector === 'filesystem');

  test('there is exactly one filesystem sink, Parquet', () => {
    expect(lakeSinks.map((t) => [t.name, t.options.format])).toEqual([['lake_sessions', 'parquet']]);
  });

  test('its columns are SESSION_COLUMNS then the partition keys (names, order, Flink types)', () => {
    expect(lakeSinks[0]?.columns).toEqual(
      [...SESSION_COLUMNS, ...SESSION_PARTITION_KEYS].map((c) => ({ name: c.name, type: c.flinkType })),
    );
  });

  test('it is partitioned by the partition keys, in path order', () => {
    expect(lakeSinks[0]?.partitionedBy).toEqual(SESSION_PARTITION_KEYS.map((c) => c.name));
  });

  test("the columns are the contract's session fields, in the contract's order", () => {
    // Written by hand from ../shared/CONTRACT.md, "Sessions in the lake".
    expect(SESSION_COLUMNS.map((c) => c.name)).toEqual([
      'deviceId',
      'sessionStart',
      'sessionEnd',
      'readings',
      'errorReadings',
      'temperatureMin',
      'temperatureMax',
      'temperatureAvg',
      'humidityAvg',
      'batteryMin',
    ]);
    expect(SESSION_PARTITION_KEYS.map((c) => c.name)).toEqual(['dt', 'hr']);
  });
});
