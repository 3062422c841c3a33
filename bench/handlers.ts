/**
 * Handler throughput benchmark: records per second of the enrich and aggregate handlers on one
 * 10,000-record MSK event against the local engines (Kafka broker, dynalite, OpenSearch node, all
 * started here), each beside its floor: the same work done raw, in the same run, on the same
 * records. Target: each handler at least 0.5 of its floor. Never fails on time; exits non-zero when a
 * handler's outputs are wrong (so that it is real work that is timed).
 *
 *   npm run bench:handlers                          # 3 measured runs of each, after a warm-up
 *   npm run bench:handlers -- 5                     # 5 runs each
 *   npm run bench:handlers -- --only aggregate      # one handler
 *   npm run bench:handlers -- --records 2000        # a smaller batch
 *   npm run bench:handlers -- --dynalite-in-process # dynalite in this process (as the engine tests run it)
 *   npm run bench:handlers -- --profile bench/out/p # a V8 CPU profile of this process per timed run
 *
 * The handlers are built as their index.ts builds them (createMskHandler over createEnrichConsumer /
 * createAggregateConsumer, the platform's idempotent producer, dynamoClient's local client, the
 * OpenSearch transport), with the dev environment's configuration from cdk.json (windows,
 * dimensions, lateness, horizon, claim lease, topic partitions), the aggregate one with an injected
 * clock. The event has the local poller's exact shape (EventSourcePoller.eventOf). Each run starts
 * from fresh state: a new table (and for aggregate a new index prefix); enrich's table first gets
 * the orders of a cdc.orders batch through the same handler, untimed.
 *
 * The floors, per topic-partition concurrently as the runtime runs them, with the same concurrency
 * limits: base64 decode and JSON.parse of every record; the handler's DynamoDB calls, in its order,
 * sent straight to dynalite with the low-level client (same operations, conditions, consistency
 * and item sizes; the floor requests section). Enrich: a claim PutItem per event, a byUser Query per
 * user, the produce, a mark-applied UpdateItem per event. Aggregate: the claim PutItems beside a
 * consistent GetItem of the partition's progress item; per window item a consistent GetItem and a
 * conditional PutItem of the same size and shape (sketch, revenue, marks, offset intervals); the
 * mark-applied UpdateItems; the `_bulk` and the produce; a consistent BatchGetItem of the windows
 * produced (100 keys a request); the progress item read again and put. The floor's window items
 * are per partition (`window#<key>#<partition>`), so its writes never contend, and each is a first
 * version (`attribute_not_exists`); the handler's windows are shared by the partitions, later
 * writers condition on the version read and re-read and write again on a conflict. On a fresh table
 * no claim is refused, so neither makes the claim read-back, renewal or takeover requests. Every run
 * prints its DynamoDB calls by operation, the handler's and the floor's side by side. Output: one
 * raw kafkajs send per partition group of the same output records (idempotent producer, acks -1,
 * as kafka-client.ts makes it); for aggregate one raw `_bulk` (fetch) per partition group of the
 * same window documents. Not in a floor: schema validation, the orders view, the window merge,
 * HyperLogLog, logging and metrics (the handler's own work). Powertools metrics output is off (one
 * EMF line per invocation).
 *
 * Per run it also prints the CPU seconds of this process, dynalite (when it is a child process),
 * the Kafka JVM and the OpenSearch JVM (Linux /proc), which shows where the time goes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { dirname, join, resolve } from 'node:path';
import {
  BatchGetItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type BatchGetItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import type { Admin, KafkaMessage, Message, Producer, ProducerRecord, RecordMetadata } from 'kafkajs';
// Constants only (key names, the view's attributes, the empty view): no Powertools behind them.
import { ORDERS_BY_USER_INDEX, STATE_TABLE } from '../lambda/shared/consumer/state-table';
import type { MSKEvent, MSKRecord } from '../lambda/shared/consumer/msk-event';
import { NO_ORDERS } from '../lambda/shared/contract/enriched-event';
import { VIEW_ATTRIBUTES } from '../lambda/enrich/order-state';
import type { EnvironmentConfig } from '../lib/config/platform-config';
import { topicName, type TopicId } from '../lib/topics/topic-specs';
import { stateTableRequest, LocalDynamo } from '../test/engines/harness/dynalite';
import { EventSourcePoller } from '../test/engines/harness/event-source-poller';
import { LocalKafka } from '../test/engines/harness/kafka';
import { LocalOpenSearch } from '../test/engines/harness/opensearch';
import { freePort, waitForPort } from '../test/engines/harness/ports';
import { prng } from '../tools/prng';

// Before the Lambda code is loaded (its Powertools instances read these once).
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_SERVICE_NAME ??= 'bench';
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

const ROOT = resolve(__dirname, '..');
const TARGET = 0.5;
const ENV_NAME = 'dev';
/** The aggregate consumer's processing clock: events fall in the 4 minutes before it. */
const NOW0 = Date.parse('2026-11-25T06:40:00.000Z');
const USERS = 300;
const INDEX_PREFIX = 'bench-agg';

/** The Lambda code, loaded after the Powertools environment above is set. */
async function loadLambda() {
  return {
    runtime: await import('../lambda/shared/consumer/runtime'),
    dedupe: await import('../lambda/shared/consumer/dedupe'),
    kafkaClient: await import('../lambda/shared/kafka-client'),
    enrich: await import('../lambda/enrich/enrich'),
    aggregate: await import('../lambda/aggregate/aggregate'),
    searchSink: await import('../lambda/aggregate/search-sink'),
    windows: await import('../lambda/aggregate/windows'),
    searchDefs: await import('../lambda/shared/search/definitions'),
    indexName: await import('../lambda/shared/search/index-name'),
    stateTable: await import('../lambda/shared/consumer/state-table'),
    config: await import('../lib/config/platform-config'),
    powertools: await import('../lambda/shared/powertools'),
  };
}

type Lambda = Awaited<ReturnType<typeof loadLambda>>;

// ---------------------------------------------------------------- arguments, small helpers

interface Args {
  runs: number;
  records: number;
  only?: 'enrich' | 'aggregate';
  dynaliteInProcess: boolean;
  profileDir?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { runs: 3, records: 10_000, dynaliteInProcess: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--only') {
      const v = argv[++i];
      if (v !== 'enrich' && v !== 'aggregate')
        throw new Error(`--only expects enrich or aggregate, got ${v}`);
      args.only = v;
    } else if (arg === '--records') args.records = Number(argv[++i]);
    else if (arg === '--dynalite-in-process') args.dynaliteInProcess = true;
    else if (arg === '--profile') args.profileDir = resolve(argv[++i] ?? 'bench/out/profiles');
    else if (/^\d+$/.test(arg)) args.runs = Number(arg);
    else
      throw new Error(
        `unknown argument '${arg}' (usage: [runs] [--only enrich|aggregate] [--records N] [--dynalite-in-process] [--profile DIR])`,
      );
  }
  if (!Number.isInteger(args.records) || args.records < 100) throw new Error('--records must be >= 100');
  return args;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `work` over `items` with at most `limit` in flight (the consumers' own pattern). */
async function limited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** user+sys CPU seconds of a process (Linux /proc), or NaN. */
function processCpu(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[14 - 3]) + Number(fields[15 - 3])) / 100; // utime, stime; USER_HZ 100
  } catch {
    return Number.NaN;
  }
}

function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Runs `work` under the V8 CPU profiler of this process and writes `<file>.cpuprofile`. */
async function profiled(file: string, work: () => Promise<void>): Promise<void> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((ok, fail) =>
      session.post(method, params, (err, result) => (err ? fail(err) : ok(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  try {
    await work();
  } finally {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  }
}

class BenchFailure extends Error {}

function check(condition: boolean, message: string): void {
  if (!condition) throw new BenchFailure(message);
}

// ---------------------------------------------------------------- engines

/** dynalite in a child process (DynamoDB is remote to a function; here it gets its own core too). */
class ChildDynalite {
  private constructor(
    private readonly child: ChildProcess,
    public readonly endpoint: string,
  ) {}

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(): Promise<ChildDynalite> {
    const port = await freePort();
    const script =
      `const d = require(${JSON.stringify(require.resolve('dynalite'))})` +
      `({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }); d.listen(${port}, '127.0.0.1');`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
    process.once('exit', () => child.kill('SIGKILL'));
    await waitForPort(port, 30_000, () => child.exitCode === null);
    return new ChildDynalite(child, `http://127.0.0.1:${port}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}

interface Engines {
  kafka: LocalKafka;
  search?: LocalOpenSearch;
  dynamoEndpoint: string;
  dynamo: DynamoDBClient;
  /** The calls of `dynamo`, the floors' client. */
  dynamoCalls: CallCounter;
  stopDynamo: () => Promise<void>;
  dynalitePid?: number;
  admin: Admin;
}

function kafkaPid(kafka: LocalKafka): number | undefined {
  // The harness keeps its JVM handle private; the pid is only read for the CPU figures.
  return (kafka as unknown as { process?: ChildProcess }).process?.pid;
}

// ---------------------------------------------------------------- the MSK event

interface RawRecord {
  readonly partition: number;
  readonly key: string | null;
  readonly value: string;
  readonly headers?: Record<string, string>;
}

/** The MSK event the local poller would invoke with, for these records (offsets from 0 per partition). */
function mskEvent(topic: string, brokers: string, records: readonly RawRecord[]): MSKEvent {
  const poller = new EventSourcePoller({
    topic,
    groupId: 'bench',
    handler: () => Promise.resolve(),
    batchSize: records.length,
    maximumBatchingWindowMs: 0,
    retryAttempts: 0,
    brokers,
  });
  const offsets = new Map<number, number>();
  const taken = records.map((r) => {
    const offset = offsets.get(r.partition) ?? 0;
    offsets.set(r.partition, offset + 1);
    const message = {
      key: r.key === null ? null : Buffer.from(r.key),
      value: Buffer.from(r.value),
      headers: r.headers
        ? Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, Buffer.from(v)]))
        : {},
      offset: String(offset),
      timestamp: String(NOW0 - 1_000),
      attributes: 0,
      size: 0,
    } as unknown as KafkaMessage;
    return { partition: r.partition, message };
  });
  return poller.eventOf(taken);
}

/** A copy for one invocation (the poller hands the handler a parsed copy too). */
function copyOf(event: MSKEvent): MSKEvent {
  return JSON.parse(JSON.stringify(event)) as MSKEvent;
}

function recordCount(event: MSKEvent): number {
  return Object.values(event.records).reduce((n, list) => n + list.length, 0);
}

// ---------------------------------------------------------------- producers

interface Captured {
  /** Every send, in order: topic and messages. */
  readonly sends: { topic: string; messages: Message[] }[];
}

/** The platform's producer, recording what the handler sends (after the send, outside the handler's logic). */
function capturing(producer: Producer, captured: Captured): Producer {
  return {
    ...producer,
    send: async (record: ProducerRecord): Promise<RecordMetadata[]> => {
      const result = await producer.send(record);
      captured.sends.push({ topic: record.topic, messages: record.messages });
      return result;
    },
  };
}

function sent(captured: Captured, topic: string): Message[] {
  return captured.sends.filter((s) => s.topic === topic).flatMap((s) => s.messages);
}

// ---------------------------------------------------------------- DynamoDB calls, counted

/**
 * The DynamoDB requests a client sends, by operation (the `X-Amz-Target` of each request built;
 * an SDK retry is not counted again). Printed per run: the floor makes the handler's calls.
 */
class CallCounter {
  private readonly counts = new Map<string, number>();

  constructor(client: DynamoDBClient) {
    client.middlewareStack.add(
      (next) => (args) => {
        const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
        const target = headers['x-amz-target'] ?? headers['X-Amz-Target'] ?? 'unknown';
        const operation = target.slice(target.indexOf('.') + 1);
        this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
        return next(args);
      },
      { step: 'build', name: 'benchCallCounter' },
    );
  }

  reset(): void {
    this.counts.clear();
  }

  toString(): string {
    const entries = [...this.counts].sort(([a], [b]) => (a < b ? -1 : 1));
    return entries.length === 0 ? 'none' : entries.map(([op, n]) => `${op} ${n}`).join(', ');
  }
}

// ---------------------------------------------------------------- floor requests

/*
 * The floors' DynamoDB requests, sent raw with the low-level client: each is the request the
 * handler's own module sends for the same step (same operation, item shape, condition and
 * consistency), written out here rather than made by that module.
 */

/** A record of the event, base64-decoded and parsed: the floors' first step. */
interface Decoded<T> {
  readonly r: MSKRecord;
  readonly key: string | null;
  readonly value: T;
}

/** Every record of the event decoded, per topic-partition. */
function decodeEvent<T>(input: MSKEvent): Decoded<T>[][] {
  return Object.values(input.records).map((list) =>
    list.map((r) => ({
      r,
      key: r.key == null ? null : Buffer.from(r.key, 'base64').toString('utf8'),
      value: JSON.parse(Buffer.from(r.value!, 'base64').toString('utf8')) as T,
    })),
  );
}

/** Where the floor's claims go: one consumer's claims in one table (dedupe.ts). */
interface Claims {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly consumer: string;
  readonly horizonSeconds: number;
  /** Claims put or marked at once (dedupe.ts CLAIM_CONCURRENCY). */
  readonly concurrency: number;
  /** The clock of the claims (epoch ms). */
  readonly now: number;
}

function claimItemKey(claims: Claims, eventId: string): Record<string, AttributeValue> {
  return {
    [STATE_TABLE.partitionKey]: { S: `event#${eventId}` },
    [STATE_TABLE.sortKey]: { S: claims.consumer },
  };
}

/** The first put of each record's claim (dedupe.ts claimOne: absent or expired), all that a fresh table takes. */
async function putClaims(claims: Claims, list: readonly Decoded<{ eventId: string }>[]): Promise<void> {
  const nowSeconds = Math.floor(claims.now / 1000);
  await limited(list, claims.concurrency, async ({ r, value }) => {
    await claims.client.send(
      new PutItemCommand({
        TableName: claims.table,
        Item: {
          ...claimItemKey(claims, value.eventId),
          topic: { S: r.topic },
          partition: { N: String(r.partition) },
          offset: { N: String(r.offset) },
          applied: { BOOL: false },
          claimedAt: { N: String(claims.now) },
          [STATE_TABLE.ttlAttribute]: { N: String(nowSeconds + claims.horizonSeconds) },
        },
        ConditionExpression: 'attribute_not_exists(#pk) OR #exp < :nowSeconds',
        ExpressionAttributeNames: { '#pk': STATE_TABLE.partitionKey, '#exp': STATE_TABLE.ttlAttribute },
        ExpressionAttributeValues: { ':nowSeconds': { N: String(nowSeconds) } },
      }),
    );
  });
}

/** Each record's claim marked applied, conditional on its position (dedupe.ts markApplied). */
async function markClaimsApplied(
  claims: Claims,
  list: readonly Decoded<{ eventId: string }>[],
): Promise<void> {
  await limited(list, claims.concurrency, async ({ r, value }) => {
    await claims.client.send(
      new UpdateItemCommand({
        TableName: claims.table,
        Key: claimItemKey(claims, value.eventId),
        UpdateExpression: 'SET #applied = :true',
        ConditionExpression: '#topic = :topic AND #partition = :partition AND #offset = :offset',
        ExpressionAttributeNames: {
          '#applied': 'applied',
          '#topic': 'topic',
          '#partition': 'partition',
          '#offset': 'offset',
        },
        ExpressionAttributeValues: {
          ':true': { BOOL: true },
          ':topic': { S: r.topic },
          ':partition': { N: String(r.partition) },
          ':offset': { N: String(r.offset) },
        },
      }),
    );
  });
}

/** One user's order items from the byUser index, every page (order-state.ts userOrders). */
async function queryUserOrders(client: DynamoDBClient, table: string, user: string): Promise<void> {
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: table,
        IndexName: ORDERS_BY_USER_INDEX.name,
        KeyConditionExpression: '#user = :user',
        ProjectionExpression: VIEW_ATTRIBUTES.map((_, i) => `#a${i}`).join(', '),
        ExpressionAttributeNames: {
          '#user': ORDERS_BY_USER_INDEX.partitionKey,
          ...Object.fromEntries(VIEW_ATTRIBUTES.map((a, i) => [`#a${i}`, a])),
        },
        ExpressionAttributeValues: { ':user': { S: user } },
        ExclusiveStartKey: startKey,
      }),
    );
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/** A strongly consistent GetItem (window-store.ts: a window before its write, the progress item). */
async function getConsistent(
  client: DynamoDBClient,
  table: string,
  key: Record<string, AttributeValue>,
): Promise<Record<string, AttributeValue> | undefined> {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }),
  );
  return Item;
}

/** A PutItem of an item that must not exist yet (window-store.ts: a window's or a progress item's first version). */
async function putFirstVersion(
  client: DynamoDBClient,
  table: string,
  item: Record<string, AttributeValue>,
): Promise<void> {
  await client.send(
    new PutItemCommand({
      TableName: table,
      Item: item,
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': STATE_TABLE.partitionKey },
    }),
  );
}

/** BatchGetItem reads at most this many keys per request (window-store.ts). */
const BATCH_GET_KEYS = 100;

/**
 * Strongly consistent BatchGetItems of these keys, 100 a request, unprocessed keys asked again
 * (window-store.ts readMany, the re-read after producing); returns the number of items read.
 */
async function batchGetConsistent(
  client: DynamoDBClient,
  table: string,
  keys: readonly Record<string, AttributeValue>[],
): Promise<number> {
  let read = 0;
  for (let i = 0; i < keys.length; i += BATCH_GET_KEYS) {
    let pending: Record<string, AttributeValue>[] | undefined = keys.slice(i, i + BATCH_GET_KEYS);
    while (pending && pending.length > 0) {
      const result: BatchGetItemCommandOutput = await client.send(
        new BatchGetItemCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
      );
      read += result.Responses?.[table]?.length ?? 0;
      pending = result.UnprocessedKeys?.[table]?.Keys;
    }
  }
  return read;
}

// ---------------------------------------------------------------- samples

interface Sample {
  wallMs: number;
  cpu: { bench: number; dynalite: number; kafka: number; search: number };
  /** The DynamoDB calls of the run, by operation. */
  calls: string;
}

async function timed(engines: Engines, calls: CallCounter, work: () => Promise<void>): Promise<Sample> {
  const pids = {
    dynalite: engines.dynalitePid,
    kafka: kafkaPid(engines.kafka),
    search: engines.search?.pid,
  };
  const before = {
    bench: selfCpu(),
    dynalite: processCpu(pids.dynalite),
    kafka: processCpu(pids.kafka),
    search: processCpu(pids.search),
  };
  calls.reset();
  const start = process.hrtime.bigint();
  await work();
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  return {
    wallMs,
    calls: calls.toString(),
    cpu: {
      bench: selfCpu() - before.bench,
      dynalite: processCpu(pids.dynalite) - before.dynalite,
      kafka: processCpu(pids.kafka) - before.kafka,
      search: processCpu(pids.search) - before.search,
    },
  };
}

function describe(sample: Sample, records: number): string {
  const c = sample.cpu;
  const f = (x: number) => (Number.isNaN(x) ? '-' : x.toFixed(2));
  return (
    `${(sample.wallMs / 1000).toFixed(2)} s, ${Math.round((records * 1000) / sample.wallMs)} records/s; ` +
    `cpu s: bench ${f(c.bench)}, dynalite ${f(c.dynalite)}, kafka ${f(c.kafka)}, opensearch ${f(c.search)}; ` +
    `dynamodb calls: ${sample.calls}`
  );
}

// ---------------------------------------------------------------- a bench subject

interface Subject {
  readonly name: string;
  readonly records: number;
  /** Fresh state for one run; returns the run's work and its check. */
  prepare(
    kind: 'handler' | 'floor',
    run: string,
  ): Promise<{
    work: () => Promise<void>;
    verify: () => Promise<void>;
    cleanup: () => Promise<void>;
    /** Counts the DynamoDB calls of the work (the handler's client, or the floor's). */
    calls: CallCounter;
  }>;
}

async function measure(
  subject: Subject,
  engines: Engines,
  runs: number,
  profileDir?: string,
): Promise<{ handler: Sample[]; floor: Sample[] }> {
  const out = { handler: [] as Sample[], floor: [] as Sample[] };
  // A warm-up of the handler (JIT, connections, the SDK paths the floor shares, index creation), not
  // counted: its outputs are the records the floors produce. Then alternate, the handler first.
  const order: ('handler' | 'floor')[][] = [['handler']];
  for (let i = 0; i < runs; i++) order.push(i % 2 ? ['floor', 'handler'] : ['handler', 'floor']);
  for (const [round, kinds] of order.entries()) {
    for (const kind of kinds) {
      const run = `${kind[0]}${round}-${randomUUID().slice(0, 6)}`;
      const { work, verify, cleanup, calls } = await subject.prepare(kind, run);
      const sample = await timed(
        engines,
        calls,
        profileDir ? () => profiled(join(profileDir, `${subject.name}-${run}`), work) : work,
      );
      await verify();
      await cleanup();
      const label = round === 0 ? 'warm-up' : `run ${round}`;
      console.log(
        `  ${subject.name} ${kind.padEnd(7)} ${label.padEnd(7)} ${describe(sample, subject.records)}`,
      );
      if (round > 0) out[kind].push(sample);
    }
  }
  return out;
}

/** What both subjects are built from. */
interface SubjectInputs {
  readonly lambda: Lambda;
  readonly engines: Engines;
  readonly config: EnvironmentConfig;
  readonly records: number;
  readonly producers: { handler: Producer; floor: Producer };
}

/** A handler's own DynamoDB client, as its index.ts makes it (DYNAMODB_ENDPOINT), with its calls counted. */
function handlerDynamo(lambda: Lambda, engines: Engines): { dynamo: DynamoDBClient; calls: CallCounter } {
  const dynamo = lambda.dedupe.dynamoClient({
    DYNAMODB_ENDPOINT: engines.dynamoEndpoint,
    AWS_REGION: 'us-east-1',
  });
  return { dynamo, calls: new CallCounter(dynamo) };
}

/** The MSK handler of a consumer definition, as its index.ts makes it (one per container, as in Lambda). */
function mskHandler(
  lambda: Lambda,
  definition: Parameters<Lambda['runtime']['createMskHandler']>[0],
  producer: Producer,
  timing: { retryBudgetSeconds: number },
  now?: () => number,
): (event: MSKEvent) => Promise<void> {
  lambda.powertools.metrics.clearDefaultDimensions();
  return lambda.runtime.createMskHandler(definition, {
    producer: () => Promise.resolve(producer),
    retryBudgetMs: timing.retryBudgetSeconds * 1_000,
    ...(now ? { now } : {}),
  });
}

// ---------------------------------------------------------------- enrich

const TYPES = ['page_view', 'click', 'add_to_cart', 'purchase', 'search'];
const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'ES', 'IT', 'NL', 'PL'];

function userId(i: number): string {
  return `user-${String(i).padStart(4, '0')}`;
}

function uuidFrom(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** App events over USERS users; a purchase carries an amount. `occurredAt` in the 4 minutes before NOW0. */
function appEvents(count: number, seed: number): Record<string, unknown>[] {
  const random = prng(seed);
  return Array.from({ length: count }, () => {
    const user = Math.floor(random() * USERS);
    const type = TYPES[Math.floor(random() * TYPES.length)]!;
    const c = Math.floor(random() * (COUNTRIES.length + 1));
    return {
      eventId: uuidFrom(random),
      userId: userId(user),
      type,
      occurredAt: new Date(NOW0 - 240_000 + Math.floor(random() * 240_000)).toISOString(),
      ...(c < COUNTRIES.length ? { country: COUNTRIES[c] } : {}),
      ...(type === 'purchase'
        ? {
            properties: {
              amountCents: 100 + Math.floor(random() * 9_900),
              currency: random() < 0.7 ? 'EUR' : 'USD',
            },
          }
        : { properties: { page: `/p/${Math.floor(random() * 50)}` } }),
      schemaVersion: 1,
    };
  });
}

function partitionOf(key: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) >>> 0;
  return h % partitions;
}

/** The MSK event of these events (app or enriched): JSON values keyed and partitioned by userId. */
function userKeyedEvent(
  topic: string,
  brokers: string,
  partitions: number,
  events: readonly Record<string, unknown>[],
): MSKEvent {
  return mskEvent(
    topic,
    brokers,
    events.map((e) => ({
      partition: partitionOf(String(e.userId), partitions),
      key: String(e.userId),
      value: JSON.stringify(e),
      headers: { 'content-type': 'application/json', 'schema-version': '1' },
    })),
  );
}

interface Order {
  readonly id: number;
  readonly userId: string;
  readonly status: string;
  readonly amountCents: number;
  readonly currency: string;
}

/** A third of the users have 1-4 orders. */
function orders(seed: number): Order[] {
  const random = prng(seed);
  const out: Order[] = [];
  const statuses = ['created', 'paid', 'shipped', 'cancelled'];
  for (let u = 0; u < USERS; u += 3) {
    const n = 1 + Math.floor(random() * 4);
    for (let k = 0; k < n; k++) {
      out.push({
        id: out.length + 1,
        userId: userId(u),
        status: statuses[Math.floor(random() * statuses.length)]!,
        amountCents: 500 + Math.floor(random() * 20_000),
        currency: random() < 0.5 ? 'EUR' : 'USD',
      });
    }
  }
  return out;
}

function enrichSubject({ lambda, engines, config, records, producers }: SubjectInputs): Subject {
  const EVENTS = topicName('eventsUser');
  const ORDERS = topicName('cdcOrders');
  const ENRICHED = topicName('eventsEnriched');
  const DLQ = topicName('dlqEnrich');
  const partitions = config.topics.eventsUser.settings.partitions;
  const orderPartitions = config.topics.cdcOrders.settings.partitions;
  const timing = lambda.config.consumerTiming(config.events, config.events.consumers.enrich);
  const horizonSeconds = config.events.dedupeHorizonDays * 86_400;
  const brokers = engines.kafka.bootstrap;

  const events = appEvents(records, 1);
  const event = userKeyedEvent(EVENTS, brokers, partitions, events);
  const orderList = orders(2);
  const ordersEvent = mskEvent(
    ORDERS,
    brokers,
    orderList.map((o, i) => ({
      partition: o.id % orderPartitions,
      key: JSON.stringify({ id: o.id }),
      value: JSON.stringify({
        id: o.id,
        user_id: o.userId,
        status: o.status,
        amount_cents: o.amountCents,
        currency: o.currency,
        created_at: new Date(NOW0 - 86_400_000 + i * 1_000).toISOString(),
        updated_at: new Date(NOW0 - 86_400_000 + i * 1_000).toISOString(),
        __op: 'c',
        __lsn: 1_000 + i,
        __source_ts_ms: NOW0 - 86_400_000,
        __deleted: 'false',
      }),
    })),
  );
  const ordersOf = new Map<string, number>();
  for (const o of orderList) ordersOf.set(o.userId, (ordersOf.get(o.userId) ?? 0) + 1);

  /** The outputs of the last handler run, by eventId: what the floor produces. */
  let outputs: Map<string, Message> | undefined;

  function handlerFor(
    table: string,
    captured: Captured,
  ): { handler: (event: MSKEvent) => Promise<void>; calls: CallCounter } {
    const { dynamo, calls } = handlerDynamo(lambda, engines);
    const definition = lambda.enrich.createEnrichConsumer({
      eventsTopic: EVENTS,
      ordersTopic: ORDERS,
      enrichedTopic: ENRICHED,
      deadLetterTopic: DLQ,
      table,
      dynamo,
      dedupeHorizonSeconds: horizonSeconds,
      claimLeaseSeconds: timing.claimLeaseSeconds,
    });
    const handler = mskHandler(lambda, definition, capturing(producers.handler, captured), timing);
    return { handler, calls };
  }

  async function freshTable(run: string): Promise<string> {
    const table = `bench-enrich-${run}`;
    await engines.dynamo.send(new CreateTableCommand(stateTableRequest({ name: table, ordersByUser: true })));
    // The orders, through the real handler (untimed): the per-user queries find them.
    const captured: Captured = { sends: [] };
    await handlerFor(table, captured).handler(copyOf(ordersEvent));
    check(sent(captured, DLQ).length === 0, 'enrich: the orders batch was dead-lettered');
    return table;
  }

  function verifyOutputs(messages: Message[], dead: Message[]): void {
    check(dead.length === 0, `enrich: ${dead.length} records dead-lettered`);
    check(
      messages.length === records,
      `enrich: ${messages.length} records produced to ${ENRICHED}, expected ${records}`,
    );
    const seen = new Set<string>();
    for (const m of messages) {
      const value = JSON.parse(String(m.value)) as {
        eventId: string;
        userId: string;
        orders: { lifetimeCount: number };
      };
      check(String(m.key) === value.userId, `enrich: record ${value.eventId} keyed ${String(m.key)}`);
      check(
        value.orders.lifetimeCount === (ordersOf.get(value.userId) ?? 0),
        `enrich: ${value.userId} has ${ordersOf.get(value.userId) ?? 0} orders, the record says ${value.orders.lifetimeCount}`,
      );
      seen.add(value.eventId);
    }
    check(seen.size === records, `enrich: ${seen.size} distinct events produced, expected ${records}`);
  }

  async function floor(table: string, input: MSKEvent, out: Map<string, Message>): Promise<void> {
    const client = engines.dynamo;
    const claims: Claims = {
      client,
      table,
      consumer: lambda.enrich.CONSUMER_NAME,
      horizonSeconds,
      concurrency: lambda.dedupe.CLAIM_CONCURRENCY,
      now: Date.now(),
    };
    await Promise.all(
      decodeEvent<{ eventId: string; userId: string }>(input).map(async (list) => {
        await putClaims(claims, list);
        const users = [...new Set(list.map(({ value }) => value.userId))];
        await limited(users, lambda.enrich.DYNAMODB_CONCURRENCY, (user) =>
          queryUserOrders(client, table, user),
        );
        await producers.floor.send({
          topic: ENRICHED,
          acks: -1,
          messages: list.map(({ value }) => out.get(value.eventId)!),
        });
        await markClaimsApplied(claims, list);
      }),
    );
  }

  return {
    name: 'enrich',
    records: recordCount(event),
    async prepare(kind, run) {
      const table = await freshTable(run);
      const input = copyOf(event);
      const cleanup = () =>
        engines.dynamo.send(new DeleteTableCommand({ TableName: table })).then(() => undefined);
      if (kind === 'handler') {
        const captured: Captured = { sends: [] };
        const { handler, calls } = handlerFor(table, captured);
        return {
          calls,
          work: () => handler(input),
          verify: () => {
            const messages = sent(captured, ENRICHED);
            verifyOutputs(messages, sent(captured, DLQ));
            outputs = new Map(
              messages.map((m) => [(JSON.parse(String(m.value)) as { eventId: string }).eventId, m]),
            );
            return Promise.resolve();
          },
          cleanup,
        };
      }
      const out = outputs;
      if (!out) throw new Error('the floor runs after a handler run');
      return {
        calls: engines.dynamoCalls,
        work: () => floor(table, input, out),
        verify: () => Promise.resolve(),
        cleanup,
      };
    },
  };
}

// ---------------------------------------------------------------- aggregate

interface AggregateRecord {
  windowKey: string;
  windowSize: string;
  windowStart: string;
  dimension: string;
  events: number;
  users: number;
  revenueCents: Record<string, number>;
  version: number;
}

function aggregateSubject({ lambda, engines, config, records, producers }: SubjectInputs): Subject {
  const ENRICHED = topicName('eventsEnriched');
  const AGGREGATES = topicName('eventsAggregates');
  const DLQ = topicName('dlqAggregate');
  const search = engines.search!;
  const partitions = config.topics.eventsEnriched.settings.partitions;
  const timing = lambda.config.consumerTiming(config.events, config.events.consumers.aggregate);
  const horizonSeconds = config.events.dedupeHorizonDays * 86_400;
  const windows = lambda.windows.parseWindowSizes(config.events.windows.join(','));
  const dimensions = lambda.windows.parseDimensions(config.events.dimensions.join(','));
  const sizeMs = new Map(windows.map((w) => [w.iso, w.ms]));
  const brokers = engines.kafka.bootstrap;
  const views = [
    NO_ORDERS,
    {
      lifetimeCount: 2,
      lifetimeValueCents: { EUR: 2599 },
      openCount: 1,
      lastOrderId: 17,
      lastStatus: 'paid',
      lastOrderAt: '2026-11-24T06:40:00.000Z',
    },
  ];
  const events: Record<string, unknown>[] = appEvents(records, 3).map((e, i) => ({
    ...e,
    orders: views[i % 3 === 0 ? 1 : 0]!,
    enrichedAt: new Date(NOW0 - 500).toISOString(),
  }));
  const event = userKeyedEvent(ENRICHED, brokers, partitions, events);

  // What the windows must hold, counted plainly.
  const expected = new Map<string, { events: number; users: Set<string>; revenue: Record<string, number> }>();
  const windowsByPartition = new Map<number, Set<string>>();
  /** Per window, per source partition, the highest offset of its records: the handler's marks. */
  const marksOf = new Map<string, Map<number, number>>();
  /** Per source partition, its last offset (offsets from 0): each batch range is [0, last]. */
  const lastOffset = new Map<number, number>();
  for (const e of events) {
    const p = partitionOf(String(e.userId), partitions);
    const offset = (lastOffset.get(p) ?? -1) + 1;
    lastOffset.set(p, offset);
    const keys = windowsByPartition.get(p) ?? new Set<string>();
    windowsByPartition.set(p, keys);
    for (const ref of lambda.windows.windowsOf(e, Date.parse(String(e.occurredAt)), windows, dimensions)) {
      keys.add(ref.windowKey);
      const marks = marksOf.get(ref.windowKey) ?? new Map<number, number>();
      marksOf.set(ref.windowKey, marks);
      marks.set(p, offset);
      const w = expected.get(ref.windowKey) ?? { events: 0, users: new Set<string>(), revenue: {} };
      expected.set(ref.windowKey, w);
      w.events++;
      w.users.add(String(e.userId));
      const revenue = lambda.windows.revenueOf(e);
      if (revenue) w.revenue[revenue.currency] = (w.revenue[revenue.currency] ?? 0) + revenue.amountCents;
    }
  }

  /** The newest record per window of the last handler run: the floor's documents. */
  let documents: Map<string, AggregateRecord> | undefined;

  async function freshTable(run: string): Promise<string> {
    const table = `bench-aggregate-${run}`;
    await engines.dynamo.send(new CreateTableCommand(stateTableRequest({ name: table })));
    return table;
  }

  async function cleanup(table: string, prefix: string): Promise<void> {
    await engines.dynamo.send(new DeleteTableCommand({ TableName: table }));
    await fetch(`${search.url}/${prefix}-*`, { method: 'DELETE' });
  }

  async function searchDocs(prefix: string): Promise<AggregateRecord[]> {
    await fetch(`${search.url}/${prefix}-*/_refresh`, { method: 'POST' });
    const response = await fetch(`${search.url}/${prefix}-*/_search?size=10000`);
    const body = (await response.json()) as { hits?: { hits: { _source: AggregateRecord }[] } };
    return (body.hits?.hits ?? []).map((h) => h._source);
  }

  async function verifyHandler(captured: Captured, prefix: string): Promise<Map<string, AggregateRecord>> {
    const dead = sent(captured, DLQ);
    check(dead.length === 0, `aggregate: ${dead.length} records dead-lettered`);
    const latest = new Map<string, AggregateRecord>();
    for (const m of sent(captured, AGGREGATES)) {
      const r = JSON.parse(String(m.value)) as AggregateRecord;
      check(String(m.key) === r.windowKey, `aggregate: record of ${r.windowKey} keyed ${String(m.key)}`);
      const seen = latest.get(r.windowKey);
      if (!seen || seen.version < r.version) latest.set(r.windowKey, r);
    }
    check(
      latest.size === expected.size,
      `aggregate: ${latest.size} windows emitted, expected ${expected.size}`,
    );
    for (const [key, want] of expected) {
      const got = latest.get(key);
      check(got !== undefined, `aggregate: window ${key} not emitted`);
      check(
        got!.events === want.events,
        `aggregate: ${key} counts ${got!.events} events, expected ${want.events}`,
      );
      check(
        JSON.stringify(Object.entries(got!.revenueCents).sort()) ===
          JSON.stringify(Object.entries(want.revenue).sort()),
        `aggregate: ${key} revenue ${JSON.stringify(got!.revenueCents)}, expected ${JSON.stringify(want.revenue)}`,
      );
      const users = want.users.size;
      check(
        Math.abs(got!.users - users) <= Math.max(2, users * 0.1),
        `aggregate: ${key} estimates ${got!.users} users, expected about ${users}`,
      );
    }
    const docs = await searchDocs(prefix);
    check(
      docs.length === expected.size,
      `aggregate: ${docs.length} documents in OpenSearch, expected ${expected.size}`,
    );
    for (const doc of docs) {
      const want = latest.get(doc.windowKey);
      check(
        want !== undefined && want.version === doc.version && want.events === doc.events,
        `aggregate: the document of ${doc.windowKey} is not the newest record`,
      );
    }
    return latest;
  }

  /** A window item key of the floor: one per window and partition, so that partitions do not contend. */
  function floorWindowKey(windowKey: string, partition: number): Record<string, AttributeValue> {
    return {
      [STATE_TABLE.partitionKey]: { S: `window#${windowKey}#${partition}` },
      [STATE_TABLE.sortKey]: { S: 'state' },
    };
  }

  /**
   * A window item as large as the handler's last write of it (window-store.ts write): a 4 KiB
   * sketch, the revenue, a mark and an offset interval per source partition with records in it.
   */
  function windowItem(
    key: Record<string, AttributeValue>,
    doc: AggregateRecord,
    sketch: Uint8Array,
    now: number,
  ): Record<string, AttributeValue> {
    const marks = [...marksOf.get(doc.windowKey)!];
    const startMs = Date.parse(doc.windowStart);
    return {
      ...key,
      windowSize: { S: doc.windowSize },
      windowStartMs: { N: String(startMs) },
      windowEndMs: { N: String(startMs + sizeMs.get(doc.windowSize)!) },
      dimension: { S: doc.dimension },
      value: { S: doc.windowKey.split('|')[3]! },
      events: { N: String(doc.events) },
      users: { B: sketch },
      revenueCents: {
        M: Object.fromEntries(Object.entries(doc.revenueCents).map(([k, v]) => [k, { N: String(v) }])),
      },
      version: { N: String(doc.version) },
      marks: {
        M: Object.fromEntries(marks.map(([p, offset]) => [`${ENRICHED}:${p}`, { N: String(offset) }])),
      },
      intervals: {
        M: Object.fromEntries(
          marks.map(([p]) => [`${ENRICHED}:${p}`, { L: [{ N: '0' }, { N: String(lastOffset.get(p)!) }] }]),
        ),
      },
      updatedAtMs: { N: String(now) },
      [STATE_TABLE.ttlAttribute]: { N: String(Math.floor(now / 1000) + 90_000) },
    };
  }

  async function floor(
    table: string,
    prefix: string,
    input: MSKEvent,
    docs: Map<string, AggregateRecord>,
  ): Promise<void> {
    const client = engines.dynamo;
    const now = NOW0;
    const claims: Claims = {
      client,
      table,
      consumer: lambda.aggregate.AGGREGATE_CONSUMER,
      horizonSeconds,
      concurrency: lambda.dedupe.CLAIM_CONCURRENCY,
      now,
    };
    const sketch = new Uint8Array(4096).map((_, i) => (i * 7) % 13);
    const writeConcurrency = 16;
    await Promise.all(
      decodeEvent<{ eventId: string }>(input).map(async (list) => {
        const { topic, partition } = list[0]!.r;
        const progressKey = {
          [STATE_TABLE.partitionKey]: { S: `progress#${topic}:${partition}` },
          [STATE_TABLE.sortKey]: { S: lambda.aggregate.AGGREGATE_CONSUMER },
        };
        const windowKeys = [...windowsByPartition.get(partition)!].sort();
        // The claims, and the partition's progress item beside them.
        await Promise.all([putClaims(claims, list), getConsistent(client, table, progressKey)]);
        // Per window item: a consistent read, then a conditional put.
        await limited(windowKeys, writeConcurrency, async (windowKey) => {
          const key = floorWindowKey(windowKey, partition);
          await getConsistent(client, table, key);
          await putFirstVersion(client, table, windowItem(key, docs.get(windowKey)!, sketch, now));
        });
        await markClaimsApplied(claims, list);
        const outputs = windowKeys.map((k) => docs.get(k)!);
        let body = '';
        for (const doc of outputs) {
          const index = lambda.indexName.indexName(prefix, doc.windowSize, doc.windowStart);
          body += `${JSON.stringify({ index: { _index: index, _id: doc.windowKey, version: doc.version, version_type: 'external' } })}\n`;
          body += `${JSON.stringify(doc)}\n`;
        }
        const response = await fetch(`${search.url}/_bulk`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body,
        });
        const result = (await response.json()) as { items: { index: { status: number } }[] };
        const failed = result.items.filter((i) => i.index.status >= 300 && i.index.status !== 409);
        if (failed.length > 0) throw new Error(`floor bulk: ${failed.length} items failed`);
        await producers.floor.send({
          topic: AGGREGATES,
          acks: -1,
          messages: outputs.map((doc) => ({ key: doc.windowKey, value: JSON.stringify(doc) })),
        });
        // The windows produced, read again.
        const read = await batchGetConsistent(
          client,
          table,
          windowKeys.map((k) => floorWindowKey(k, partition)),
        );
        if (read !== windowKeys.length)
          throw new Error(`floor re-read: ${read} of ${windowKeys.length} windows`);
        // The batch range appended to the progress item: read again, then its first version.
        await getConsistent(client, table, progressKey);
        await putFirstVersion(client, table, {
          ...progressKey,
          ranges: { L: [{ N: String(list[0]!.r.offset) }, { N: String(list[list.length - 1]!.r.offset) }] },
          revision: { N: '1' },
        });
      }),
    );
  }

  return {
    name: 'aggregate',
    records: recordCount(event),
    async prepare(kind, run) {
      const table = await freshTable(run);
      const prefix = `${INDEX_PREFIX}-${run}`;
      const input = copyOf(event);
      if (kind === 'handler') {
        const captured: Captured = { sends: [] };
        const start = Date.now();
        const { dynamo, calls } = handlerDynamo(lambda, engines);
        const definition = lambda.aggregate.createAggregateConsumer({
          enrichedTopic: ENRICHED,
          aggregatesTopic: AGGREGATES,
          deadLetterTopic: DLQ,
          table,
          dynamo,
          dedupeHorizonSeconds: horizonSeconds,
          claimLeaseSeconds: timing.claimLeaseSeconds,
          search: lambda.searchSink.createSearchTransport({ endpoint: search.url, auth: 'none' }),
          indexPrefix: prefix,
          windows,
          dimensions,
          allowedLatenessSeconds: config.events.allowedLatenessSeconds,
        });
        const handler = mskHandler(
          lambda,
          definition,
          capturing(producers.handler, captured),
          timing,
          () => NOW0 + (Date.now() - start),
        );
        return {
          calls,
          work: () => handler(input),
          verify: async () => {
            documents = await verifyHandler(captured, prefix);
          },
          cleanup: () => cleanup(table, prefix),
        };
      }
      const docs = documents;
      if (!docs) throw new Error('the floor runs after a handler run');
      return {
        calls: engines.dynamoCalls,
        work: () => floor(table, prefix, input, docs),
        verify: async () => {
          const stored = await searchDocs(prefix);
          check(
            stored.length === expected.size,
            `aggregate floor: ${stored.length} documents, expected ${expected.size}`,
          );
        },
        cleanup: () => cleanup(table, prefix),
      };
    },
  };
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const lambda = await loadLambda();
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const [config] = lambda.config.loadEnvironments({ ...cdkJson.context, env: ENV_NAME });
  if (!config) throw new Error(`no ${ENV_NAME} environment in cdk.json`);
  const wanted = args.only ? [args.only] : ['enrich', 'aggregate'];

  const t0 = Date.now();
  const [kafka, search, dynamoEngine] = await Promise.all([
    LocalKafka.start(),
    wanted.includes('aggregate') ? LocalOpenSearch.start() : Promise.resolve(undefined),
    args.dynaliteInProcess ? LocalDynamo.start() : ChildDynalite.start(),
  ]);
  const dynamo =
    dynamoEngine instanceof LocalDynamo
      ? dynamoEngine.client
      : new DynamoDBClient({
          endpoint: dynamoEngine.endpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        });
  const kafkaFactory = (clientId: string) =>
    lambda.kafkaClient.createKafka({ brokers: kafka.bootstrap, auth: 'none', clientId });
  const admin = kafkaFactory('bench-admin').admin();
  await admin.connect();
  const engines: Engines = {
    kafka,
    search,
    dynamoEndpoint: dynamoEngine.endpoint,
    dynamo,
    dynamoCalls: new CallCounter(dynamo),
    stopDynamo: () => dynamoEngine.stop(),
    dynalitePid: dynamoEngine instanceof ChildDynalite ? dynamoEngine.pid : undefined,
    admin,
  };
  const producers: { handler?: Producer; floor?: Producer } = {};
  let failed = false;
  try {
    const ids: TopicId[] = [
      'eventsUser',
      'cdcOrders',
      'eventsEnriched',
      'eventsAggregates',
      'dlqEnrich',
      'dlqAggregate',
    ];
    await admin.createTopics({
      waitForLeaders: true,
      topics: ids.map((id) => ({
        topic: topicName(id),
        numPartitions: config.topics[id].settings.partitions,
        replicationFactor: 1,
      })),
    });
    if (search) {
      const spec = {
        indexPrefix: INDEX_PREFIX,
        shards: 1,
        replicas: 0,
        retentionDays: 30,
        writerRoleArns: [],
      };
      const put = await fetch(`${search.url}/_index_template/${lambda.searchDefs.templateName(spec)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(lambda.searchDefs.indexTemplate(spec)),
      });
      if (!put.ok) throw new Error(`index template: ${put.status} ${await put.text()}`);
    }
    // One producer per "container" each for the handlers and the floors, connected beforehand.
    producers.handler = lambda.kafkaClient.createProducer(kafkaFactory('bench-handler'));
    producers.floor = lambda.kafkaClient.createProducer(kafkaFactory('bench-floor'));
    await Promise.all([producers.handler.connect(), producers.floor.connect()]);
    const p = producers as { handler: Producer; floor: Producer };
    console.log(
      `engines up in ${((Date.now() - t0) / 1000).toFixed(1)} s (Kafka, ${search ? 'OpenSearch, ' : ''}dynalite ` +
        `${args.dynaliteInProcess ? 'in this process' : 'in a child process'}); config ${ENV_NAME}: ` +
        `partitions ${config.topics.eventsUser.settings.partitions} (events.user) / ` +
        `${config.topics.eventsEnriched.settings.partitions} (events.enriched), windows ${config.events.windows.join(',')}, ` +
        `dimensions ${config.events.dimensions.join(',')}; ${args.records} records, ${USERS} users; ` +
        `${args.runs} runs each after a handler warm-up, alternating`,
    );

    const inputs: SubjectInputs = { lambda, engines, config, records: args.records, producers: p };
    const results: { name: string; records: number; handler: Sample[]; floor: Sample[] }[] = [];
    for (const name of wanted) {
      const subject = name === 'enrich' ? enrichSubject(inputs) : aggregateSubject(inputs);
      results.push({
        name,
        records: subject.records,
        ...(await measure(subject, engines, args.runs, args.profileDir)),
      });
    }

    console.log('');
    const rate = (records: number, s: Sample) => (records * 1000) / s.wallMs;
    for (const r of results) {
      const h = median(r.handler.map((s) => rate(r.records, s)));
      const f = median(r.floor.map((s) => rate(r.records, s)));
      const ratio = h / f;
      const cpu = (samples: Sample[], k: keyof Sample['cpu']) =>
        median(samples.map((s) => s.cpu[k])).toFixed(2);
      console.log(
        `${r.name.padEnd(9)} handler ${Math.round(h)} records/s (median of ${r.handler.length}; ` +
          `min ${Math.round(Math.min(...r.handler.map((s) => rate(r.records, s))))}, ` +
          `max ${Math.round(Math.max(...r.handler.map((s) => rate(r.records, s))))}) | ` +
          `floor ${Math.round(f)} records/s (min ${Math.round(Math.min(...r.floor.map((s) => rate(r.records, s))))}, ` +
          `max ${Math.round(Math.max(...r.floor.map((s) => rate(r.records, s))))}) | ` +
          `ratio ${ratio.toFixed(2)} (target >= ${TARGET}: ${ratio >= TARGET ? 'met' : 'NOT met'})`,
      );
      console.log(
        `${''.padEnd(9)} median cpu s, handler / floor: bench ${cpu(r.handler, 'bench')} / ${cpu(r.floor, 'bench')}, ` +
          `dynalite ${cpu(r.handler, 'dynalite')} / ${cpu(r.floor, 'dynalite')}, ` +
          `kafka ${cpu(r.handler, 'kafka')} / ${cpu(r.floor, 'kafka')}, ` +
          `opensearch ${cpu(r.handler, 'search')} / ${cpu(r.floor, 'search')}`,
      );
      console.log(`${''.padEnd(9)} dynamodb calls, last handler run: ${r.handler.at(-1)?.calls ?? '-'}`);
      console.log(`${''.padEnd(9)} dynamodb calls, last floor run:   ${r.floor.at(-1)?.calls ?? '-'}`);
    }
  } catch (err) {
    if (!(err instanceof BenchFailure)) throw err;
    console.error(`WRONG OUTPUT: ${err.message}`);
    failed = true;
  } finally {
    await producers.handler?.disconnect();
    await producers.floor?.disconnect();
    await admin.disconnect();
    if (!(dynamoEngine instanceof LocalDynamo)) dynamo.destroy();
    await engines.stopDynamo();
    await search?.destroy();
    await kafka.stop();
  }
  return failed ? 1 : 0;
}

// Errors other than wrong outputs (an engine that does not start, a request that fails) exit 2.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
