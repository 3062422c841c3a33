/**
 * cdc.orders end to end on the real engines: PostgreSQL 15 (logical decoding, pgoutput) →
 * the Debezium PostgreSQL connector from the very plugin ZIP MSK Connect gets
 * (connect/debezium-postgres) on a Kafka Connect 3.7 worker (MSK Connect's "3.7.x") → the Kafka
 * 3.9 broker of global-setup.ts. The connector and worker configurations are rendered by
 * lib/cdc/debezium-config.ts, the same function the MSK Connect construct uses; cdc.orders is created
 * with exactly the configs the dev template carries.
 *
 * Credentials come through the platform's own Secrets Manager config provider, the very class and
 * JAR the MSK Connect worker registers (SECRETS_MANAGER_CONFIG_PROVIDER_CLASS, in the plugin ZIP):
 * the connector configuration carries only `${secretsmanager:<secret name>:username|password}`.
 * Secrets Manager itself is an AWS service with no local edition, and this machine reaches no AWS
 * endpoint, so a stub of its GetSecretValue API on 127.0.0.1 (harness/secrets-manager-stub.ts)
 * holds the secret; the provider reaches it through its `endpoint` parameter with the AWS SDK, and
 * signs each request (SigV4) with dummy credentials from the worker's environment, which the stub
 * verifies. Also not here: IAM/TLS to the brokers, RDS (a local cluster stands in, trusting
 * loopback logins, so it checks the user name but not the password) and more than one broker.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Admin, Consumer } from 'kafkajs';
import {
  CDC_HEARTBEAT_TOPIC,
  CONNECT_OFFSETS_TOPIC,
  DEBEZIUM_PLUGIN_ZIP,
  DEBEZIUM_POSTGRES_CONNECTOR_CLASS,
  DEBEZIUM_VERSION,
  SECRETS_CONFIG_PROVIDER,
  renderDebeziumPostgresConfig,
} from '../../lib/cdc/debezium-config';
import { TOPIC_SPECS } from '../../lib/topics/topic-specs';
import { connectAdmin, deleteTopicsAndWait, kafkaClient } from './harness/clients';
import { LocalConnect } from './harness/connect';
import { CdcDatabase } from './harness/postgres';
import { SecretsManagerStub } from './harness/secrets-manager-stub';
import { createCdcTopics, localAwsIdentity, startCdcWorker } from './harness/cdc';

const TOPIC = TOPIC_SPECS.cdcOrders.name;
const CONNECTOR = 'cdc-orders-postgres';
const SLOT = 'platform_cdc';
const PUBLICATION = 'platform_cdc';
/** Short so the test sees heartbeats quickly; environments use cdk.json's `cdc.heartbeatIntervalMs`. */
const HEARTBEAT_MS = 1000;
/** The database secret, named like an environment's (a name: `:` cannot appear in a placeholder). */
const SECRET_NAME = 'streaming-local-orders-cdc-db';
/** Dummy AWS credentials and region of the worker JVM; the stub accepts only requests signed with them. */
const AWS_IDENTITY = localAwsIdentity();
/** Quiet time after the expected records arrived, to catch any record beyond them. */
const SETTLE_MS = 3000;

/** A row of public.orders as the contract carries it in a record value. */
interface OrderRow {
  id: number;
  user_id: string;
  status: 'created' | 'paid' | 'shipped' | 'cancelled' | 'refunded';
  amount_cents: number;
  currency: string;
  created_at: string;
  updated_at: string;
}

type Value = Record<string, unknown>;

interface Received {
  readonly partition: number;
  readonly offset: number;
  readonly key: { id: number };
  readonly value: Value | null;
}

/** One change as the test expects it on the topic: a row value, or a delete (record + tombstone). */
interface ExpectedChange {
  readonly op: 'r' | 'c' | 'u' | 'd';
  /** The row after the change; for a delete, the row before it. */
  readonly row: OrderRow;
}

let admin: Admin;
let db: CdcDatabase | undefined;
let connect: LocalConnect | undefined;
let clusterId: string | undefined;
let consumer: Consumer | undefined;
let secrets: SecretsManagerStub | undefined;
/** Workers a test started besides `connect` (or froze): stopped at once in afterAll if still running. */
const spareWorkers = new Set<LocalConnect>();
const received: Received[] = [];
/** Every change made to public.orders, per order id, in commit order. */
const expected = new Map<number, ExpectedChange[]>();
const current = new Map<number, OrderRow>();
let clock = Date.UTC(2025, 2, 1, 10, 0, 0);

/** Distinct timestamps with microseconds, as ISO-8601 the way Debezium writes timestamptz. */
function nextTimestamp(): string {
  clock += 1000;
  const micros = String(((clock / 1000) % 997) + 1).padStart(3, '0');
  return new Date(clock).toISOString().replace(/Z$/, `${micros}Z`);
}

function record(id: number, change: ExpectedChange): void {
  expected.set(id, [...(expected.get(id) ?? []), change]);
}

async function insertOrder(id: number, amountCents: number, op: 'c' | 'r' = 'c'): Promise<void> {
  const at = nextTimestamp();
  const row: OrderRow = {
    id,
    user_id: `user-${id % 7}`,
    status: 'created',
    amount_cents: amountCents,
    currency: id % 2 === 0 ? 'EUR' : 'USD',
    created_at: at,
    updated_at: at,
  };
  await db!.client.query(
    'INSERT INTO public.orders (id, user_id, status, amount_cents, currency, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [row.id, row.user_id, row.status, row.amount_cents, row.currency, row.created_at, row.updated_at],
  );
  current.set(id, row);
  record(id, { op, row });
}

async function updateOrder(
  id: number,
  change: Partial<Pick<OrderRow, 'status' | 'amount_cents'>>,
): Promise<void> {
  const row: OrderRow = { ...current.get(id)!, ...change, updated_at: nextTimestamp() };
  await db!.client.query(
    'UPDATE public.orders SET status = $2, amount_cents = $3, updated_at = $4 WHERE id = $1',
    [id, row.status, row.amount_cents, row.updated_at],
  );
  current.set(id, row);
  record(id, { op: 'u', row });
}

async function deleteOrder(id: number): Promise<void> {
  await db!.client.query('DELETE FROM public.orders WHERE id = $1', [id]);
  record(id, { op: 'd', row: current.get(id)! });
  current.delete(id);
}

async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${connect?.tail(30) ?? ''}`);
}

/** Records per key, in partition order (a key's records all live in one partition). */
function recordsByKey(records: readonly Received[]): Map<number, Received[]> {
  const byKey = new Map<number, Received[]>();
  const sorted = [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  for (const r of sorted) byKey.set(r.key.id, [...(byKey.get(r.key.id) ?? []), r]);
  return byKey;
}

/**
 * Groups a key's records into changes: a value record, or a delete record with the tombstone
 * that must follow it directly.
 */
function changesOf(records: readonly Received[]): { value: Value; tombstone: boolean }[] {
  const changes: { value: Value; tombstone: boolean }[] = [];
  for (const [i, r] of records.entries()) {
    if (r.value === null) {
      const previous = records[i - 1]?.value;
      if (!previous || previous.__deleted !== 'true')
        throw new Error(`tombstone of key ${r.key.id} at offset ${r.offset} does not follow a delete record`);
      changes[changes.length - 1]!.tombstone = true;
    } else {
      changes.push({ value: r.value, tombstone: false });
    }
  }
  return changes;
}

/** The record value the contract prescribes for an expected change (LSN and source time vary). */
function contractValue(change: ExpectedChange): Value {
  const varying = { __lsn: expect.any(Number), __source_ts_ms: expect.any(Number) };
  // A delete carries the real last row (REPLICA IDENTITY FULL), never invented defaults.
  if (change.op === 'd') return { ...change.row, __op: 'd', __deleted: 'true', ...varying };
  return { ...change.row, __op: change.op, __deleted: 'false', ...varying };
}

/** Asserts that a key's changes (no duplicates allowed) are exactly the expected ones, in order. */
function expectExactly(id: number, changes: { value: Value; tombstone: boolean }[]): void {
  const want = expected.get(id) ?? [];
  expect({ id, values: changes.map((c) => c.value) }).toEqual({ id, values: want.map(contractValue) });
  for (const [i, change] of want.entries())
    expect({ id, i, tombstone: changes[i]!.tombstone }).toEqual({ id, i, tombstone: change.op === 'd' });
  const lsns = changes.map((c) => c.value.__lsn as number);
  expect(lsns).toEqual([...lsns].sort((a, b) => a - b));
}

beforeAll(async () => {
  admin = await connectAdmin();
  await createCdcTopics(admin);

  consumer = kafkaClient('cdc-test-reader').consumer({
    groupId: `cdc-test-${randomBytes(4).toString('hex')}`,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      received.push({
        partition,
        offset: Number(message.offset),
        key: JSON.parse(message.key!.toString()) as { id: number },
        value: message.value === null ? null : (JSON.parse(message.value.toString()) as Value),
      });
      return Promise.resolve();
    },
  });

  db = await CdcDatabase.create({ publicationName: PUBLICATION });
  secrets = await SecretsManagerStub.start(AWS_IDENTITY);
  // The shape of an RDS-managed secret: the provider returns its scalar fields, the port as text.
  secrets.putSecret(SECRET_NAME, {
    engine: 'postgres',
    host: db.host,
    port: db.port,
    dbname: db.name,
    username: db.user,
    password: db.password,
  });
  connect = await startWorker();
  clusterId = connect.clusterId;
});

function startWorker(workerClusterId?: string): Promise<LocalConnect> {
  return startCdcWorker(secrets!, AWS_IDENTITY, workerClusterId);
}

afterAll(async () => {
  await consumer?.disconnect();
  for (const worker of spareWorkers) {
    await worker.stop({ crash: true });
    await deleteTopicsAndWait(admin, LocalConnect.internalTopics(worker.clusterId));
    if (worker === connect) connect = undefined;
  }
  if (connect) {
    await connect.deleteConnector(CONNECTOR).catch(() => undefined);
    await connect.stop();
  }
  await db?.drop({ slotName: SLOT, publicationName: PUBLICATION });
  await secrets?.stop();
  await deleteTopicsAndWait(admin, [
    TOPIC,
    CDC_HEARTBEAT_TOPIC,
    // The shared offsets topic the workers created (offset.storage.topic of the platform's worker configuration).
    CONNECT_OFFSETS_TOPIC,
    ...(clusterId ? LocalConnect.internalTopics(clusterId) : []),
  ]);
  await admin.disconnect();
});

function connectorConfig(
  secretReference = SECRET_NAME,
  slotRetry?: { maxRetries: number; delayMs: number },
): Record<string, string> {
  return renderDebeziumPostgresConfig({
    connectorName: CONNECTOR,
    database: { host: db!.host, port: db!.port, name: db!.name },
    secretReference,
    slotName: SLOT,
    publicationName: PUBLICATION,
    topic: TOPIC,
    snapshotMode: 'initial',
    heartbeatIntervalMs: HEARTBEAT_MS,
    // The local cluster has no TLS; environments keep the default `require`.
    sslMode: 'disable',
    slotRetry,
  });
}

test('the worker runs the pinned plugin ZIP, and the pom pins the same Debezium release', async () => {
  const pom = readFileSync(resolve(__dirname, '..', '..', 'connect', 'debezium-postgres', 'pom.xml'), 'utf8');
  expect(/<debezium\.version>([^<]+)<\/debezium\.version>/.exec(pom)?.[1]).toBe(DEBEZIUM_VERSION);
  expect(DEBEZIUM_PLUGIN_ZIP).toContain(DEBEZIUM_VERSION);
  const plugins = await connect!.connectorPlugins();
  expect(plugins).toContainEqual({
    class: DEBEZIUM_POSTGRES_CONNECTOR_CLASS,
    type: 'source',
    version: DEBEZIUM_VERSION,
  });
  const root = (await connect!.request('GET', '/')).body as { version: string };
  expect(root.version).toMatch(/^3\.7\./);
});

test('the rendered configuration validates with no error and carries no credential', async () => {
  const config = connectorConfig();
  expect(config['database.user']).toBe(`\${${SECRETS_CONFIG_PROVIDER}:${SECRET_NAME}:username}`);
  expect(JSON.stringify(config)).not.toContain(db!.password);
  const before = secrets!.requests.length;
  const validation = await connect!.validate(DEBEZIUM_POSTGRES_CONNECTOR_CLASS, config);
  const errors = validation.configs.filter((c) => c.value.errors.length > 0).map((c) => c.value);
  expect(errors).toEqual([]);
  expect(validation.error_count).toBe(0);
  // Validation resolved the placeholders (Debezium then logged in to check the connection) through
  // the provider: GetSecretValue for the secret, signed with the worker's credentials and region.
  expect(secrets!.requests.slice(before)).toContainEqual({
    target: 'secretsmanager.GetSecretValue',
    secretId: SECRET_NAME,
    accessKeyId: AWS_IDENTITY.credentials.accessKeyId,
    region: AWS_IDENTITY.region,
    service: 'secretsmanager',
    signatureValid: true,
    status: 200,
    error: undefined,
  });
});

test('a missing secret or key is refused before any connector exists, naming it', async () => {
  // Kafka Connect resolves the placeholders before it validates or stores a configuration, and
  // answers the provider's ConfigException as an error (HTTP 500, the exception's message).
  const missing = 'streaming-local-no-such-secret';
  const validation = await connect!.request(
    'PUT',
    `/connector-plugins/${encodeURIComponent(DEBEZIUM_POSTGRES_CONNECTOR_CLASS)}/config/validate`,
    connectorConfig(missing),
  );
  expect(validation.status).toBeGreaterThanOrEqual(400);
  expect(JSON.stringify(validation.body)).toContain(`Secret '${missing}' was not found in Secrets Manager`);
  expect(secrets!.getSecretValueCalls(missing).map((r) => r.error)).toContain('ResourceNotFoundException');

  const incomplete = 'streaming-local-orders-cdc-db-incomplete';
  secrets!.putSecret(incomplete, { username: db!.user, pass: db!.password });
  const name = `${CONNECTOR}-incomplete`;
  const created = await connect!.request('PUT', `/connectors/${name}/config`, {
    ...connectorConfig(incomplete),
    name,
  });
  expect(created.status).toBeGreaterThanOrEqual(400);
  const message = JSON.stringify(created.body);
  expect(message).toContain(`Secret '${incomplete}' has no key 'password'`);
  // Names, never values.
  expect(message).not.toContain(db!.password);
  expect(message).not.toContain(db!.user);
  expect(await connect!.status(name)).toBeUndefined();
});

test('snapshot, inserts, updates and deletes arrive in cdc.orders exactly per the contract', async () => {
  // Before the connector exists: read by the initial snapshot (__op "r").
  await insertOrder(1, 1999, 'r');
  const reads = secrets!.getSecretValueCalls(SECRET_NAME).length;
  await connect!.putConnector(CONNECTOR, connectorConfig());
  await connect!.waitForRunning(CONNECTOR);
  await waitFor('the snapshot record', () => received.length >= 1);
  // The task read the secret again when it started.
  expect(secrets!.getSecretValueCalls(SECRET_NAME).length).toBeGreaterThan(reads);
  // The set-up (as the owner) published exactly the captured table; the connector only uses it.
  expect(await db!.publicationTables(PUBLICATION)).toEqual(['public.orders']);

  await insertOrder(2, 4500);
  await updateOrder(2, { status: 'paid' });
  await updateOrder(1, { status: 'cancelled' });
  await deleteOrder(1);
  await insertOrder(3, 120);
  await updateOrder(3, { amount_cents: 150 });
  await deleteOrder(2);

  const total = [...expected.values()].flat().reduce((n, c) => n + (c.op === 'd' ? 2 : 1), 0);
  await waitFor(`${total} records`, () => received.length >= total);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  expect(received).toHaveLength(total);

  for (const r of received) expect(Object.keys(r.key)).toEqual(['id']);
  const byKey = recordsByKey(received);
  expect([...byKey.keys()].sort()).toEqual([1, 2, 3]);
  for (const [id, records] of byKey) {
    expect(new Set(records.map((r) => r.partition)).size).toBe(1);
    expectExactly(id, changesOf(records));
  }
  // Written out by hand: the delete of order 1 carries its real last row, not "", 0 or 1970.
  const delete1 = byKey.get(1)!.find((r) => r.value?.__op === 'd')!.value!;
  expect({
    user_id: delete1.user_id,
    status: delete1.status,
    amount_cents: delete1.amount_cents,
    currency: delete1.currency,
    created_at: delete1.created_at,
  }).toEqual({
    user_id: 'user-1',
    status: 'cancelled',
    amount_cents: 1999,
    currency: 'USD',
    created_at: expected.get(1)![0]!.row.created_at,
  });
  expect(delete1.created_at).not.toMatch(/^1970-/);
  // Source timestamps are the commit (or snapshot) times: recent, in milliseconds.
  for (const r of received.filter((x) => x.value))
    expect(Math.abs(Date.now() - (r.value!.__source_ts_ms as number))).toBeLessThan(120_000);
});

test('the set-up gives the captured table REPLICA IDENTITY FULL and the connector a least-privilege login', async () => {
  const identity = await db!.client.query<{ relreplident: string }>(
    "SELECT relreplident FROM pg_class WHERE oid = 'public.orders'::regclass",
  );
  expect(identity.rows).toEqual([{ relreplident: 'f' }]);
  const role = await db!.client.query<Record<string, unknown>>(
    `SELECT r.rolsuper, r.rolreplication, r.rolcreatedb, r.rolcreaterole, r.rolcanlogin,
            pg_has_role(r.rolname, c.relowner, 'USAGE') AS owns_table,
            has_table_privilege(r.rolname, 'public.orders', 'SELECT') AS can_select,
            has_table_privilege(r.rolname, 'public.orders', 'INSERT,UPDATE,DELETE,TRUNCATE') AS can_write,
            has_database_privilege(r.rolname, current_database(), 'CREATE') AS can_create
       FROM pg_roles r, pg_class c WHERE r.rolname = $1 AND c.oid = 'public.orders'::regclass`,
    [db!.user],
  );
  expect(role.rows).toEqual([
    {
      rolsuper: false,
      rolreplication: true,
      rolcreatedb: false,
      rolcreaterole: false,
      rolcanlogin: true,
      owns_table: false,
      can_select: true,
      can_write: false,
      can_create: false,
    },
  ]);
});

test('the connector logs in with the credentials the provider read from the secret', async () => {
  // The replication connection holding the slot belongs to the user named only in the secret.
  let user: string | undefined;
  await waitFor('the slot to be in use', async () => {
    const res = await db!.client.query<{ usename: string }>(
      'SELECT a.usename FROM pg_replication_slots s JOIN pg_stat_activity a ON a.pid = s.active_pid WHERE s.slot_name = $1',
      [SLOT],
    );
    user = res.rows[0]?.usename;
    return user !== undefined;
  });
  // The dedicated replication login, which is no superuser (previous test).
  expect(user).toBe(db!.user);
  // Every read of the secret was signed with the worker's credentials and answered.
  const reads = secrets!.getSecretValueCalls(SECRET_NAME);
  expect(reads.length).toBeGreaterThan(0);
  for (const read of reads)
    expect(read).toMatchObject({
      accessKeyId: AWS_IDENTITY.credentials.accessKeyId,
      signatureValid: true,
      status: 200,
    });
  // The stored configuration keeps the placeholders; the password reaches no log line.
  const stored = (await connect!.request('GET', `/connectors/${CONNECTOR}/config`)).body as Record<
    string,
    string
  >;
  expect(stored['database.password']).toBe(`\${${SECRETS_CONFIG_PROVIDER}:${SECRET_NAME}:password}`);
  expect(readFileSync(connect!.logFile, 'utf8')).not.toContain(db!.password);
});

test('heartbeats let an idle slot confirm WAL written by other tables', async () => {
  // WAL from a table outside the publication: nothing for the connector to emit.
  await db!.client.query('CREATE TABLE public.unrelated (n int)');
  await db!.client.query('INSERT INTO public.unrelated SELECT generate_series(1, 5000)');
  const { rows } = await db!.client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  const written = rows[0]!.lsn;
  await waitFor(
    `the slot to confirm ${written}`,
    async () => {
      const res = await db!.client.query<{ behind: string | null }>(
        'SELECT pg_wal_lsn_diff($1::pg_lsn, confirmed_flush_lsn)::text AS behind FROM pg_replication_slots WHERE slot_name = $2',
        [written, SLOT],
      );
      return Number(res.rows[0]?.behind ?? Infinity) <= 0;
    },
    30_000,
  );
  const beats = await admin.fetchTopicOffsets(CDC_HEARTBEAT_TOPIC);
  expect(beats.reduce((n, p) => n + Number(p.high), 0)).toBeGreaterThan(0);
});

/** A stream of single-row transactions over a few keys: inserts, updates and deletes. */
function changeStream(ids: readonly number[]): { next: () => Promise<void>; count: () => number } {
  let step = 0;
  return {
    count: () => step,
    next: async () => {
      const id = ids[step % ids.length]!;
      step++;
      if (!current.has(id)) await insertOrder(id, 1000 + step);
      else if (step % 5 === 0) await deleteOrder(id);
      else await updateOrder(id, { amount_cents: 1000 + step, status: step % 3 === 0 ? 'shipped' : 'paid' });
    },
  };
}

/**
 * A key's changes without exact repeats: a record identical to an earlier one of its key (same
 * values, same __lsn) is a redelivery. A repeated delete may bring the tombstone its first copy
 * lacked.
 */
function withoutRedeliveries(records: readonly Received[]): {
  unique: { value: Value; tombstone: boolean }[];
  repeats: number;
} {
  const unique: { value: Value; tombstone: boolean }[] = [];
  const byText = new Map<string, { value: Value; tombstone: boolean }>();
  let repeats = 0;
  for (const change of changesOf(records)) {
    const text = JSON.stringify(change.value);
    const first = byText.get(text);
    if (first) {
      repeats++;
      first.tombstone ||= change.tombstone;
    } else {
      byText.set(text, change);
      unique.push(change);
    }
  }
  return { unique, repeats };
}

/**
 * At-least-once, as Debezium promises it: every change of `ids` arrives in commit order per key,
 * and any record beyond that repeats an earlier record of its key exactly. Returns the number of
 * repeats.
 */
async function expectEveryChangeOfKeys(ids: readonly number[]): Promise<number> {
  const changed = ids.filter((id) => expected.has(id));
  const complete = () => {
    const byKey = recordsByKey(received);
    return changed.every((id) => {
      const { unique } = withoutRedeliveries(byKey.get(id) ?? []);
      const want = expected.get(id)!;
      return (
        unique.length >= want.length &&
        (want[want.length - 1]!.op !== 'd' || unique[unique.length - 1]?.tombstone)
      );
    });
  };
  await waitFor(`every change of keys ${changed.join(', ')}`, complete, 90_000);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const byKey = recordsByKey(received);
  let repeats = 0;
  for (const id of changed) {
    const result = withoutRedeliveries(byKey.get(id)!);
    expectExactly(id, result.unique);
    repeats += result.repeats;
  }
  // Only changed keys got records.
  expect([...byKey.keys()].filter((id) => !expected.has(id))).toEqual([]);
  return repeats;
}

test('a stopped connector resumes where it left off: nothing lost, repeats only exact', async () => {
  const ids = [50, 51, 52, 53];
  const stream = changeStream(ids);
  for (let i = 0; i < 8; i++) await stream.next();
  // Kafka Connect 3.5+: STOPPED shuts the task down (committing its offsets) and keeps the config.
  expect((await connect!.request('PUT', `/connectors/${CONNECTOR}/stop`)).status).toBe(204);
  await waitFor(
    'the connector to stop',
    async () => (await connect!.status(CONNECTOR))?.connector.state === 'STOPPED',
  );
  for (let i = 0; i < 12; i++) await stream.next();
  expect((await connect!.request('PUT', `/connectors/${CONNECTOR}/resume`)).status).toBe(202);
  await connect!.waitForRunning(CONNECTOR);
  for (let i = 0; i < 8; i++) await stream.next();
  const repeats = await expectEveryChangeOfKeys(ids);
  console.log(`cdc stop/resume: ${stream.count()} changes, ${repeats} repeated records`);
});

/** The last source offset the connector committed to the shared offsets topic (Debezium's lsn fields). */
async function lastCommittedOffset(): Promise<{ lsn: number; lsn_proc?: number; lsn_commit?: number }> {
  const high = await admin.fetchTopicOffsets(CONNECT_OFFSETS_TOPIC);
  const pending = new Map(high.filter((p) => Number(p.high) > 0).map((p) => [p.partition, Number(p.high)]));
  let last: { lsn: number } | undefined;
  let lastKey = '';
  const reader = kafkaClient('cdc-offsets-reader').consumer({
    groupId: `cdc-offsets-${randomBytes(4).toString('hex')}`,
  });
  await reader.connect();
  await reader.subscribe({ topic: CONNECT_OFFSETS_TOPIC, fromBeginning: true });
  const done = new Promise<void>((resolveDone) => {
    if (pending.size === 0) resolveDone();
    void reader.run({
      eachMessage: ({ partition, message }) => {
        const key = message.key?.toString() ?? '';
        if (key === JSON.stringify([CONNECTOR, { server: 'orders' }]) && message.value) {
          last = JSON.parse(message.value.toString()) as { lsn: number };
          lastKey = key;
        }
        if (Number(message.offset) + 1 >= (pending.get(partition) ?? 0)) pending.delete(partition);
        if (pending.size === 0) resolveDone();
        return Promise.resolve();
      },
    });
  });
  await done;
  await reader.disconnect();
  if (!last)
    throw new Error(`no committed offset of ${CONNECTOR} in ${CONNECT_OFFSETS_TOPIC} (last key ${lastKey})`);
  return last;
}

test('a connector replaced under the same name on a new Connect cluster resumes from the shared offsets: it waits for the slot, re-snapshots nothing, loses nothing, repeats only after the last offset flush', async () => {
  const ids = [200, 201, 202, 203, 204];
  const stream = changeStream(ids);
  for (let i = 0; i < 15; i++) await stream.next();
  await waitFor('the stream to reach the topic', () => received.some((r) => r.key.id === 200));
  const old = connect!;
  const held = await db!.slot(SLOT);
  expect(held?.active).toBe(true);

  // Mid-stream, the old connector's worker vanishes while it holds the slot (frozen: its connection
  // stays open, as when a host disappears). Records it wrote after its last offset flush (every
  // second locally) are the ones the replacement may write again.
  const writer = (async () => {
    for (let i = 0; i < 30; i++) {
      await stream.next();
      await new Promise((r) => setTimeout(r, 30));
    }
  })();
  await new Promise((r) => setTimeout(r, 700));
  old.freeze();
  spareWorkers.add(old);
  await writer;
  const committed = await lastCommittedOffset();
  for (let i = 0; i < 10; i++) await stream.next();

  // The replacement: a new Connect cluster (MSK Connect gives each connector its own), the SAME
  // connector name, the worker configuration's shared offsets topic. Short retries locally; the
  // platform's are SLOT_RETRY.
  const replacement = await startWorker();
  spareWorkers.add(replacement);
  const byOld = received.length;
  await replacement.putConnector(CONNECTOR, connectorConfig(SECRET_NAME, { maxRetries: 120, delayMs: 500 }));
  await new Promise((r) => setTimeout(r, 5000));
  // It waits: the old walsender still holds the slot, and nothing new reached the topic.
  expect((await db!.slot(SLOT))?.activePid).toBe(held!.activePid);
  expect(received.length).toBe(byOld);
  for (let i = 0; i < 5; i++) await stream.next();

  // The old worker dies; its walsender ends, and the replacement takes the slot over.
  await old.stop({ crash: true });
  spareWorkers.delete(old);
  connect = replacement;
  spareWorkers.delete(replacement);
  await deleteTopicsAndWait(admin, LocalConnect.internalTopics(clusterId!));
  clusterId = replacement.clusterId;
  await waitFor(
    'the replacement to hold the slot',
    async () => {
      const slot = await db!.slot(SLOT);
      return slot?.active === true && slot.activePid !== held!.activePid;
    },
    90_000,
  );
  await replacement.waitForRunning(CONNECTOR);
  for (let i = 0; i < 10; i++) await stream.next();
  const repeats = await expectEveryChangeOfKeys(ids);

  // No re-snapshot: the only read records ever are the initial snapshot's (order 1).
  expect(received.filter((r) => r.value?.__op === 'r').map((r) => r.key.id)).toEqual([1]);
  // Repeats come only from after the old connector's last committed offset, and each repeats a
  // record the old connector had written after it.
  const texts = new Map<string, number>();
  for (const r of received.filter((x) => x.value !== null && ids.includes(x.key.id))) {
    const text = JSON.stringify(r.value);
    texts.set(text, (texts.get(text) ?? 0) + 1);
  }
  const repeated = [...texts].filter(([, n]) => n > 1).map(([t]) => JSON.parse(t) as Value);
  for (const value of repeated) expect(value.__lsn as number).toBeGreaterThan(committed.lsn);
  const afterFlushByOld = received
    .slice(0, byOld)
    .filter(
      (r) => r.value !== null && ids.includes(r.key.id) && (r.value.__lsn as number) > committed.lsn,
    ).length;
  expect(repeated.length).toBeLessThanOrEqual(afterFlushByOld);
  console.log(
    `cdc replacement: ${stream.count()} changes, ${repeats} repeated records ` +
      `(bound: ${afterFlushByOld} records the old connector wrote after its last offset flush at LSN ${committed.lsn})`,
  );
});

test('a worker crash mid-stream loses nothing: every change arrives, in order per key, repeats only exact', async () => {
  const ids = [100, 101, 102, 103, 104, 105];
  const stream = changeStream(ids);
  const before = received.length;
  for (let i = 0; i < 20; i++) await stream.next();
  await waitFor('records of the stream', () => received.length >= before + 10);

  // Mid-stream: the worker dies without committing anything more (SIGKILL) while changes go on.
  const writer = (async () => {
    for (let i = 0; i < 20; i++) {
      await stream.next();
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await connect!.stop({ crash: true });
  connect = undefined;
  await writer;
  for (let i = 0; i < 15; i++) await stream.next();

  // A new worker of the same Connect cluster takes over the connector and its committed offsets.
  const reads = secrets!.getSecretValueCalls(SECRET_NAME).length;
  connect = await startWorker(clusterId);
  await connect.waitForRunning(CONNECTOR, 90_000);
  for (let i = 0; i < 10; i++) await stream.next();
  const repeats = await expectEveryChangeOfKeys(ids);
  // The connector and task the new worker took over logged in with the secret its provider read.
  expect(secrets!.getSecretValueCalls(SECRET_NAME).length).toBeGreaterThan(reads);
  console.log(`cdc crash/restart: ${stream.count()} changes, ${repeats} repeated records`);
});
