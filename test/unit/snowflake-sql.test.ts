/**
 * The Snowflake set-up script (snowflake/V1__platform_warehouse.sql) against the connector
 * configuration it serves (lib/warehouse/snowflake-config.ts) and the contract's events.aggregates
 * record: the table the connector writes, the views analysts read and the grants must not drift
 * from them, and the script must never carry a secret. Snowflake itself cannot run here, so these are
 * text checks of the script, with the expectations written out by hand.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SNOWFLAKE_AGGREGATES_TABLE } from '../../lib/warehouse/snowflake-config';
import { splitTopLevel } from '../support/sql-text';

const SQL_PATH = join(__dirname, '..', '..', 'snowflake', 'V1__platform_warehouse.sql');
const RAW = readFileSync(SQL_PATH, 'utf8');
/** The script without `--` comments (none of its string literals holds `--`). */
const SQL = RAW.replace(/--[^\n]*/g, '');

/** The script's statements, each on one line with single spaces. */
const STATEMENTS = SQL.split(';')
  .map((s) => s.replace(/\s+/g, ' ').trim())
  .filter((s) => s !== '');

/** The statement creating `name` (a table or a view), whole. */
function createStatement(kind: 'TABLE' | 'VIEW', name: string): string {
  const re = new RegExp(`^CREATE (?:OR REPLACE )?${kind} (?:IF NOT EXISTS )?${name}\\b`, 'i');
  const found = STATEMENTS.filter((s) => re.test(s));
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** The text inside the first parenthesis of `text` and its matching closing one. */
function firstParenthesised(text: string): string {
  const start = text.indexOf('(');
  let depth = 0;
  for (let i = start; i >= 0 && i < text.length; i++) {
    if (text[i] === '(') depth++;
    if (text[i] === ')' && --depth === 0) return text.slice(start + 1, i);
  }
  return '';
}

/** The `SET name = 'value'` variables at the top of the script. */
function sessionVariables(): Record<string, string> {
  return Object.fromEntries(
    [...SQL.matchAll(/^SET (\w+) = '([^']*)';/gim)].map((m) => [m[1]!.toLowerCase(), m[2]!]),
  );
}

// Written by hand from ../shared/CONTRACT.md, "events.aggregates".
const CONTRACT_FIELDS = [
  'windowKey',
  'windowSize',
  'windowStart',
  'windowEnd',
  'dimension',
  'value',
  'events',
  'users',
  'revenueCents',
  'updatedAt',
  'version',
];

describe('the table the connector writes', () => {
  test('it is named as the connector configuration names it (EVENTS_AGGREGATES)', () => {
    expect(SNOWFLAKE_AGGREGATES_TABLE).toBe('EVENTS_AGGREGATES');
    const tables = STATEMENTS.filter((s) => /^CREATE (?:OR REPLACE )?TABLE /i.test(s));
    expect(tables.map((s) => /TABLE (?:IF NOT EXISTS )?(\w+)/i.exec(s)?.[1])).toEqual([
      SNOWFLAKE_AGGREGATES_TABLE,
    ]);
  });

  test('it is created only if missing, never replaced (its rows are the warehouse)', () => {
    expect(createStatement('TABLE', SNOWFLAKE_AGGREGATES_TABLE)).toMatch(
      new RegExp(`^CREATE TABLE IF NOT EXISTS ${SNOWFLAKE_AGGREGATES_TABLE} \\(`),
    );
  });

  test('it has exactly the two VARIANT columns of a connector without schematization', () => {
    const statement = createStatement('TABLE', SNOWFLAKE_AGGREGATES_TABLE);
    expect(splitTopLevel(firstParenthesised(statement))).toEqual([
      'RECORD_METADATA VARIANT',
      'RECORD_CONTENT VARIANT',
    ]);
  });
});

describe('EVENTS_AGGREGATES_LATEST', () => {
  const view = createStatement('VIEW', 'EVENTS_AGGREGATES_LATEST');
  const select = /\bAS SELECT (.*) FROM (\w+)\b/i.exec(view);
  const columns = splitTopLevel(select?.[1] ?? '');
  /** alias -> expression */
  const byAlias = Object.fromEntries(
    columns.map((c) => {
      const [, expression = '', alias = ''] = /^(.*) AS (\w+)$/i.exec(c) ?? [];
      return [alias, expression];
    }),
  );

  test('it reads the raw table', () => {
    expect(select?.[2]).toBe(SNOWFLAKE_AGGREGATES_TABLE);
  });

  test('it keeps one row per windowKey: the highest version', () => {
    expect(view).toMatch(
      /QUALIFY ROW_NUMBER\(\) OVER \(PARTITION BY windowKey ORDER BY version DESC(?:, \w+ DESC)*\) = 1$/,
    );
  });

  test("every field of the contract's record is a column, read from RECORD_CONTENT under its own name", () => {
    for (const field of CONTRACT_FIELDS) {
      expect(byAlias[field]).toBeDefined();
      expect(byAlias[field]).toMatch(new RegExp(`\\bRECORD_CONTENT:${field}\\b`));
    }
  });

  test('the columns are typed: timestamps as TIMESTAMP_TZ, counts and version as NUMBER, revenue as VARIANT', () => {
    expect(byAlias).toEqual({
      windowKey: 'RECORD_CONTENT:windowKey::STRING',
      windowSize: 'RECORD_CONTENT:windowSize::STRING',
      windowStart: 'TRY_TO_TIMESTAMP_TZ(RECORD_CONTENT:windowStart::STRING)',
      windowEnd: 'TRY_TO_TIMESTAMP_TZ(RECORD_CONTENT:windowEnd::STRING)',
      dimension: 'RECORD_CONTENT:dimension::STRING',
      value: 'RECORD_CONTENT:value::STRING',
      events: 'RECORD_CONTENT:events::NUMBER',
      users: 'RECORD_CONTENT:users::NUMBER',
      revenueCents: 'RECORD_CONTENT:revenueCents',
      updatedAt: 'TRY_TO_TIMESTAMP_TZ(RECORD_CONTENT:updatedAt::STRING)',
      version: 'RECORD_CONTENT:version::NUMBER',
      kafkaPartition: 'RECORD_METADATA:partition::NUMBER',
      kafkaOffset: 'RECORD_METADATA:offset::NUMBER',
    });
  });
});

describe('EVENTS_AGGREGATES_REVENUE', () => {
  const view = createStatement('VIEW', 'EVENTS_AGGREGATES_REVENUE');

  test('it flattens revenueCents of the latest rows into one row per currency', () => {
    expect(view).toMatch(
      /FROM EVENTS_AGGREGATES_LATEST AS (\w+), LATERAL FLATTEN\(INPUT => \1\.revenueCents\)/,
    );
    expect(view).toMatch(/\.key::STRING AS currency\b/);
    expect(view).toMatch(/\.value::NUMBER AS amount_minor_units\b/);
  });

  test('it never reads the raw table', () => {
    expect(view).not.toMatch(new RegExp(`\\b${SNOWFLAKE_AGGREGATES_TABLE}\\b(?!_)`));
  });
});

describe('grants', () => {
  const grants = STATEMENTS.filter((s) => /^GRANT /i.test(s));
  const variables = sessionVariables();

  test("the script's names are the test account's (test/support/warehouse.ts)", () => {
    expect(variables).toMatchObject({
      platform_database: 'PLATFORM',
      platform_schema: 'STREAMING',
      connector_role: 'KAFKA_CONNECTOR_ROLE',
      connector_user: 'KAFKA_CONNECTOR',
    });
  });

  test('the analyst role gets USAGE on warehouse, database and schema and SELECT on the two views, nothing else', () => {
    expect(grants.filter((g) => /TO ROLE IDENTIFIER\(\$analyst_role\)$/i.test(g))).toEqual([
      'GRANT USAGE ON WAREHOUSE IDENTIFIER($analyst_warehouse) TO ROLE IDENTIFIER($analyst_role)',
      'GRANT USAGE ON DATABASE IDENTIFIER($platform_database) TO ROLE IDENTIFIER($analyst_role)',
      'GRANT USAGE ON SCHEMA IDENTIFIER($platform_schema_path) TO ROLE IDENTIFIER($analyst_role)',
      'GRANT SELECT ON VIEW EVENTS_AGGREGATES_LATEST TO ROLE IDENTIFIER($analyst_role)',
      'GRANT SELECT ON VIEW EVENTS_AGGREGATES_REVENUE TO ROLE IDENTIFIER($analyst_role)',
    ]);
  });

  test('no grant on the raw table reaches the analyst role, in any form', () => {
    const onRawTable = grants.filter((g) =>
      new RegExp(
        `\\bON (?:TABLE )?${SNOWFLAKE_AGGREGATES_TABLE}\\b(?!_)|\\bALL TABLES\\b|\\bFUTURE\\b`,
        'i',
      ).test(g),
    );
    expect(onRawTable).toEqual([
      `GRANT INSERT, SELECT ON TABLE ${SNOWFLAKE_AGGREGATES_TABLE} TO ROLE IDENTIFIER($connector_role)`,
    ]);
    // The analyst role is granted to no other role, so it inherits nothing either.
    expect(grants.filter((g) => /^GRANT ROLE IDENTIFIER\(\$\w+\) TO ROLE IDENTIFIER/i.test(g))).toEqual([]);
  });

  test('the connector role gets exactly USAGE on database and schema and INSERT, SELECT on its table', () => {
    expect(grants.filter((g) => /TO ROLE IDENTIFIER\(\$connector_role\)$/i.test(g))).toEqual([
      'GRANT USAGE ON DATABASE IDENTIFIER($platform_database) TO ROLE IDENTIFIER($connector_role)',
      'GRANT USAGE ON SCHEMA IDENTIFIER($platform_schema_path) TO ROLE IDENTIFIER($connector_role)',
      `GRANT INSERT, SELECT ON TABLE ${SNOWFLAKE_AGGREGATES_TABLE} TO ROLE IDENTIFIER($connector_role)`,
    ]);
    expect(grants).toContain('GRANT ROLE IDENTIFIER($connector_role) TO USER IDENTIFIER($connector_user)');
  });

  test('no OWNERSHIP and no ALL PRIVILEGES anywhere', () => {
    expect(grants.filter((g) => /\bOWNERSHIP\b|\bALL\b/i.test(g))).toEqual([]);
  });
});

describe('secrets', () => {
  test('the connector user is a key-pair SERVICE user with the connector role as default', () => {
    const user = STATEMENTS.filter((s) => /^CREATE USER /i.test(s));
    expect(user).toHaveLength(1);
    expect(user[0]).toMatch(/^CREATE USER IF NOT EXISTS IDENTIFIER\(\$connector_user\) TYPE = SERVICE /);
    expect(user[0]).toMatch(/ DEFAULT_ROLE = \$connector_role /);
    expect(user[0]).toMatch(/ RSA_PUBLIC_KEY = 'REPLACE_WITH_[A-Za-z0-9_.]+' /);
  });

  test('the file holds no private key: no PEM block, no key material, not the words in capitals', () => {
    expect(RAW).not.toContain('PRIVATE KEY');
    expect(RAW).not.toMatch(/-----BEGIN /);
    // DER keys in base64 start with MII; 40 characters of it are no placeholder.
    expect(RAW).not.toMatch(/MII[A-Za-z0-9+/=]{40,}/);
  });

  test('the file sets no password on anything', () => {
    expect(RAW).not.toMatch(/password/i);
  });
});
