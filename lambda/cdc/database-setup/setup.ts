/**
 * The source database set-up as a custom resource: runs renderSourceDatabaseSetup
 * (lib/cdc/source-database.ts, the same statements the local harness runs) as the RDS master user,
 * with the replication login's password from its own secret. Idempotent: every Create and Update
 * runs all statements; Delete leaves the database as it is (the table, its data and the login stay
 * with the retained database).
 */
import {
  renderSourceDatabaseSetup,
  type ReplicationGrant,
  type SourceDatabaseSetupOptions,
} from '../../../lib/cdc/source-database';

export interface DatabaseSetupProperties {
  readonly Host: string;
  readonly Port: string;
  readonly Database: string;
  /** JSON array of `schema.table`. */
  readonly Tables: string;
  readonly PublicationName: string;
  readonly ReplicationUser: string;
  readonly ReplicationGrant: ReplicationGrant;
  /** The master user's secret (JSON with username, password). */
  readonly MasterSecretArn: string;
  /** The replication login's secret (JSON with username, password); the connector reads only this one. */
  readonly ReplicationSecretArn: string;
}

export interface DatabaseSetupEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: DatabaseSetupProperties;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** What the set-up needs from its environment: secrets, and a session on the database. */
export interface SetupDeps {
  readSecret(arn: string): Promise<Credentials>;
  connect(options: { host: string; port: number; database: string } & Credentials): Promise<{
    query(sql: string): Promise<unknown>;
    escapeLiteral(text: string): string;
    end(): Promise<void>;
  }>;
}

export function setupOptions(p: DatabaseSetupProperties): SourceDatabaseSetupOptions {
  return {
    database: p.Database,
    tables: JSON.parse(p.Tables) as string[],
    publicationName: p.PublicationName,
    replicationUser: p.ReplicationUser,
    replicationGrant: p.ReplicationGrant,
  };
}

export async function setUpDatabase(
  event: DatabaseSetupEvent,
  deps: SetupDeps,
): Promise<{ PhysicalResourceId: string; Data: { Statements: number } }> {
  const p = event.ResourceProperties;
  const physicalId = `${p.Host}/${p.Database}/${p.ReplicationUser}`;
  if (event.RequestType === 'Delete')
    return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId, Data: { Statements: 0 } };
  const options = setupOptions(p);
  const replication = await deps.readSecret(p.ReplicationSecretArn);
  if (replication.username !== options.replicationUser)
    throw new Error(`the replication secret's username is not ${options.replicationUser}`);
  const master = await deps.readSecret(p.MasterSecretArn);
  const session = await deps.connect({ host: p.Host, port: Number(p.Port), database: p.Database, ...master });
  try {
    const statements = renderSourceDatabaseSetup(options, session.escapeLiteral(replication.password));
    await session.query('BEGIN');
    for (const sql of statements) await session.query(sql);
    await session.query('COMMIT');
    return { PhysicalResourceId: physicalId, Data: { Statements: statements.length } };
  } catch (err) {
    await session.query('ROLLBACK').catch(() => undefined);
    // Never the statements themselves: one carries the password.
    throw new Error(`database set-up failed: ${(err as Error).message}`);
  } finally {
    await session.end();
  }
}
