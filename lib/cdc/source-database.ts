/**
 * The source database's side of CDC, as ONE definition: the SQL that prepares a PostgreSQL database
 * for the connector. Pure TypeScript (no CDK, no driver): the RDS set-up custom resource
 * (lambda/cdc/database-setup) and the local engine harness (test/engines/harness/postgres.ts) run
 * exactly these statements, as the table's owner (the RDS master user; locally the superuser).
 *
 * What it establishes (data contract, "PostgreSQL public.orders"):
 * - the captured tables exist (`public.orders` per the contract is created when absent);
 * - every captured table has `REPLICA IDENTITY FULL`, so the old row in the WAL carries every
 *   column and a delete record carries the real last row values instead of invented defaults;
 * - the publication exists for exactly the captured tables, created by the owner: the connector
 *   runs with `publication.autocreate.mode=disabled` and never needs ownership or CREATE;
 * - a dedicated login for the connector with replication rights and nothing else: CONNECT on the
 *   database, USAGE on the tables' schemas, SELECT on the captured tables (the snapshot reads them).
 */

/** The source table of cdc.orders, exactly as the data contract describes it (created when absent). */
export const ORDERS_TABLE_DDL = `CREATE TABLE IF NOT EXISTS public.orders (
  id           bigint      PRIMARY KEY,
  user_id      text        NOT NULL,
  status       text        NOT NULL CHECK (status IN ('created', 'paid', 'shipped', 'cancelled', 'refunded')),
  amount_cents bigint      NOT NULL,
  currency     char(3)     NOT NULL,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL
)`;

/** The contract's table, the only one whose definition the platform owns. */
export const ORDERS_TABLE = 'public.orders';

/** The replication login's name when none is configured. */
export const DEFAULT_REPLICATION_USER = 'cdc_replication';

/**
 * How the login gets replication rights: on RDS by membership of `rds_replication` (the master user
 * is not a superuser and cannot grant the REPLICATION attribute); on a self-managed server by the
 * REPLICATION attribute.
 */
export type ReplicationGrant = 'rds_replication' | 'attribute';

export interface SourceDatabaseSetupOptions {
  /** The database (`CONNECT` is granted on it). */
  readonly database: string;
  /** `schema.table` names to capture. */
  readonly tables: readonly string[];
  readonly publicationName: string;
  /** The connector's login. */
  readonly replicationUser: string;
  readonly replicationGrant: ReplicationGrant;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const TABLE = /^[a-z_][a-z0-9_]{0,62}\.[a-z_][a-z0-9_]{0,62}$/;

function check(options: SourceDatabaseSetupOptions): void {
  const problems: string[] = [];
  if (!IDENTIFIER.test(options.database)) problems.push(`database: must match ${IDENTIFIER.source}`);
  if (!IDENTIFIER.test(options.publicationName))
    problems.push(`publicationName: must match ${IDENTIFIER.source}`);
  if (!IDENTIFIER.test(options.replicationUser))
    problems.push(`replicationUser: must match ${IDENTIFIER.source}`);
  if (options.tables.length === 0) problems.push('tables: must list at least one table');
  for (const t of options.tables) if (!TABLE.test(t)) problems.push(`tables: "${t}" must be schema.table`);
  if (problems.length > 0) throw new Error(`Invalid source database set-up:\n  - ${problems.join('\n  - ')}`);
}

/**
 * The set-up statements, in order, idempotent (a second run changes nothing but the password).
 * `passwordLiteral` is the replication login's password already quoted as an SQL literal by the
 * driver (`client.escapeLiteral`): CREATE/ALTER ROLE take no bind parameters.
 */
export function renderSourceDatabaseSetup(
  options: SourceDatabaseSetupOptions,
  passwordLiteral: string,
): string[] {
  check(options);
  const { database, tables, publicationName, replicationUser: user } = options;
  const schemas = [...new Set(tables.map((t) => t.split('.')[0]!))];
  const literal = (text: string) => `'${text}'`;
  return [
    ...(tables.includes(ORDERS_TABLE) ? [ORDERS_TABLE_DDL] : []),
    ...tables.map((t) => `ALTER TABLE ${t} REPLICA IDENTITY FULL`),
    `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${literal(user)}) THEN
    CREATE ROLE ${user} LOGIN;
  END IF;
END $$`,
    `ALTER ROLE ${user} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${passwordLiteral}`,
    options.replicationGrant === 'rds_replication'
      ? `GRANT rds_replication TO ${user}`
      : `ALTER ROLE ${user} WITH REPLICATION`,
    `GRANT CONNECT ON DATABASE ${database} TO ${user}`,
    ...schemas.map((s) => `GRANT USAGE ON SCHEMA ${s} TO ${user}`),
    `GRANT SELECT ON ${tables.join(', ')} TO ${user}`,
    `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = ${literal(publicationName)}) THEN
    CREATE PUBLICATION ${publicationName} FOR TABLE ${tables.join(', ')};
  END IF;
END $$`,
    // An existing publication is aligned to exactly the captured tables.
    `ALTER PUBLICATION ${publicationName} SET TABLE ${tables.join(', ')}`,
  ];
}
