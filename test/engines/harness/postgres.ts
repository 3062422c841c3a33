import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DEFAULT_CDC_TABLES } from '../../../lib/cdc/debezium-config';
import { renderSourceDatabaseSetup } from '../../../lib/cdc/source-database';

/**
 * The local PostgreSQL server (Debian's cluster, trust authentication for the superuser on
 * 127.0.0.1), prepared for logical decoding, and a fresh database per test run set up by the SAME
 * statements the RDS set-up custom resource runs (lib/cdc/source-database.ts): the contract's
 * `public.orders` (owned by the superuser, standing in for the application/master user) with
 * REPLICA IDENTITY FULL, the publication, and a dedicated REPLICATION login with a random password
 * that may only connect and read the captured tables.
 */
export const PG_HOST = process.env.ENGINES_PGHOST ?? '127.0.0.1';
export const PG_PORT = Number(process.env.ENGINES_PGPORT ?? 5432);
const PG_SUPERUSER = process.env.ENGINES_PGUSER ?? 'postgres';

async function connectAs(database: string): Promise<Client> {
  const client = new Client({ host: PG_HOST, port: PG_PORT, user: PG_SUPERUSER, database });
  // A server restart or a forced DROP DATABASE ends sessions; never let that crash the test process.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function canConnect(): Promise<boolean> {
  try {
    const client = await connectAs('postgres');
    await client.end();
    return true;
  } catch {
    return false;
  }
}

async function waitUntilAccepting(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await canConnect()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`PostgreSQL on ${PG_HOST}:${PG_PORT} did not accept connections within ${timeoutMs} ms`);
}

/** Debian's `<version> <name>` of the cluster: from `cluster_name` ('15/main'), else /etc/postgresql. */
function debianCluster(clusterName: string | undefined): [string, string] {
  const match = /^(\d+)\/(.+)$/.exec(clusterName ?? '');
  if (match) return [match[1]!, match[2]!];
  const versions = execFileSync('ls', ['/etc/postgresql'], { encoding: 'utf8' }).trim().split(/\s+/);
  return [versions[versions.length - 1]!, 'main'];
}

function pgCtlCluster(action: 'start' | 'restart', version: string, name: string): void {
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, action], { stdio: 'inherit' });
}

/**
 * Makes sure the server decodes WAL logically: `wal_level = logical` (set with ALTER SYSTEM and a
 * cluster restart when it is not), then waits until it accepts connections again. Starts the
 * cluster first if it is down.
 */
export async function ensureLogicalDecoding(): Promise<void> {
  if (!(await canConnect())) {
    const [version, name] = debianCluster(undefined);
    pgCtlCluster('start', version, name);
    await waitUntilAccepting(60_000);
  }
  const admin = await connectAs('postgres');
  let clusterName: string | undefined;
  try {
    const level = (await admin.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level;
    if (level === 'logical') return;
    clusterName = (await admin.query<{ cluster_name: string }>('SHOW cluster_name')).rows[0]?.cluster_name;
    await admin.query('ALTER SYSTEM SET wal_level = logical');
  } finally {
    await admin.end();
  }
  const [version, name] = debianCluster(clusterName);
  pgCtlCluster('restart', version, name);
  await waitUntilAccepting(60_000);
  const check = await connectAs('postgres');
  try {
    const level = (await check.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level;
    if (level !== 'logical') throw new Error(`wal_level is still ${level} after the restart`);
  } finally {
    await check.end();
  }
}

export interface ReplicationSlotState {
  readonly active: boolean;
  readonly activePid: number | null;
  readonly confirmedFlushLsn: string | null;
  readonly restartLsn: string | null;
}

/** A database created for one test run; `drop()` removes it with its slot, publication and user. */
export class CdcDatabase {
  private constructor(
    /** Superuser session on the test database (for the test's own writes and checks). */
    public readonly client: Client,
    public readonly host: string,
    public readonly port: number,
    public readonly name: string,
    /** The replication login the connector uses (REPLICATION, CONNECT, USAGE, SELECT; no ownership). */
    public readonly user: string,
    public readonly password: string,
  ) {}

  /**
   * Creates the database and runs the source set-up in it (ensures logical decoding first); the
   * replication login gets a fresh name and password per run.
   */
  static async create(options: { publicationName: string }): Promise<CdcDatabase> {
    await ensureLogicalDecoding();
    const suffix = randomBytes(4).toString('hex');
    const name = `cdc_test_${suffix}`;
    const user = `cdc_repl_${suffix}`;
    // A generated throw-away password, never written to a committed file.
    const password = randomBytes(18).toString('base64url');
    const admin = await connectAs('postgres');
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const client = await connectAs(name);
    const statements = renderSourceDatabaseSetup(
      {
        database: name,
        tables: DEFAULT_CDC_TABLES,
        publicationName: options.publicationName,
        replicationUser: user,
        // A self-managed server: the REPLICATION attribute (RDS: membership of rds_replication).
        replicationGrant: 'attribute',
      },
      client.escapeLiteral(password),
    );
    for (const sql of statements) await client.query(sql);
    return new CdcDatabase(client, PG_HOST, PG_PORT, name, user, password);
  }

  /** The state of a replication slot of this database, or undefined when there is none. */
  async slot(slotName: string): Promise<ReplicationSlotState | undefined> {
    const { rows } = await this.client.query<{
      active: boolean;
      active_pid: number | null;
      confirmed_flush_lsn: string | null;
      restart_lsn: string | null;
    }>(
      'SELECT active, active_pid, confirmed_flush_lsn::text, restart_lsn::text FROM pg_replication_slots WHERE slot_name = $1 AND database = $2',
      [slotName, this.name],
    );
    const row = rows[0];
    return row
      ? {
          active: row.active,
          activePid: row.active_pid,
          confirmedFlushLsn: row.confirmed_flush_lsn,
          restartLsn: row.restart_lsn,
        }
      : undefined;
  }

  /** The tables a publication publishes (`schema.table`), or undefined when there is none. */
  async publicationTables(publicationName: string): Promise<string[] | undefined> {
    const exists = await this.client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [
      publicationName,
    ]);
    if (exists.rowCount === 0) return undefined;
    const { rows } = await this.client.query<{ t: string }>(
      "SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1",
      [publicationName],
    );
    return rows.map((r) => r.t);
  }

  /**
   * Drops the slot (ending the walsender still holding it), the publication, the database and the
   * user. Safe to call after a partial set-up.
   */
  async drop(options: { slotName?: string; publicationName?: string } = {}): Promise<void> {
    const { slotName, publicationName } = options;
    const problems: string[] = [];
    if (slotName) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const slot = await this.slot(slotName);
        if (!slot) break;
        try {
          if (slot.activePid !== null)
            await this.client.query('SELECT pg_terminate_backend($1)', [slot.activePid]);
          await this.client.query('SELECT pg_drop_replication_slot($1)', [slotName]);
          break;
        } catch (err) {
          if (Date.now() > deadline) {
            problems.push(`slot ${slotName}: ${(err as Error).message}`);
            break;
          }
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    }
    if (publicationName) await this.client.query(`DROP PUBLICATION IF EXISTS ${publicationName}`);
    await this.client.end();
    const admin = await connectAs('postgres');
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
      // The database (and with it the login's grants in it) is gone; the role is cluster-wide.
      await admin.query(`DROP ROLE IF EXISTS ${this.user}`);
    } finally {
      await admin.end();
    }
    if (problems.length > 0) throw new Error(`clean-up incomplete: ${problems.join('; ')}`);
  }
}
