/**
 * The aggregate consumer on the real engines: the consumer runtime's handler with the aggregate
 * consumer (composed as lambda/aggregate/index.ts composes it, with an injected clock, a transport
 * and window writes that can fail on demand), driven by the local event-source poller from records
 * on the local broker, against dynalite and a local OpenSearch node. Every topic name comes from the
 * catalog; every expected aggregate is written by hand.
 */
import { DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Admin, Producer } from 'kafkajs';
import { createAggregateConsumer } from '../../lambda/aggregate/aggregate';
import { createSearchTransport, type SearchTransport } from '../../lambda/aggregate/search-sink';
import { parseWindowSizes } from '../../lambda/aggregate/windows';
import type { MSKEvent } from '../../lambda/shared/consumer/msk-event';
import { recordsToReplay } from '../../lambda/shared/consumer/on-failure';
import { createMskHandler } from '../../lambda/shared/consumer/runtime';
import type { PartitionContext, SourceRecord } from '../../lambda/shared/consumer/types';
import { createKafka, createProducer, PRODUCE_ACKS } from '../../lambda/shared/kafka-client';
import { topicName } from '../../lib/topics/topic-specs';
import { readTopic } from '../../tools/read-topic';
import { bootstrap, connectAdmin, deleteTopicsAndWait, waitForLeaders } from './harness/clients';
import { LocalDynamo } from './harness/dynalite';
import { EventSourcePoller } from './harness/event-source-poller';
import { LocalOpenSearch } from './harness/opensearch';

const ENRICHED = topicName('eventsEnriched');
const AGGREGATES = topicName('eventsAggregates');
const DLQ = topicName('dlqAggregate');
const TOPICS = [ENRICHED, AGGREGATES, DLQ];

/** The processing clock: 06:40 on the events' day when a scenario starts, moving with real time. */
const NOW0 = Date.parse('2026-11-25T06:40:00.000Z');
let shiftMs = 0;
const now = (): number => Date.now() + shiftMs;
/** Sets the processing clock to `at` (it moves on with real time). */
const setClock = (at: number): void => {
  shiftMs = at - Date.now();
};

let admin: Admin;
let producer: Producer;
let dynamo: LocalDynamo;
let search: LocalOpenSearch;
let scenario = 0;

/** A transport that fails the next `failures` requests before reaching OpenSearch. */
class FlakyTransport implements SearchTransport {
  public failures = 0;
  public calls = 0;
  constructor(private readonly inner: SearchTransport) {}
  request(
    params: Parameters<SearchTransport['request']>[0],
  ): PromiseLike<{ statusCode: number | null; body: unknown }> {
    this.calls++;
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(new Error('injected: OpenSearch unavailable'));
    }
    return this.inner.request(params);
  }
}

/** Faults injected into the consumer's DynamoDB client. */
interface DynamoFaults {
  /** Every window item write fails while set. */
  windowWrites: boolean;
}

/** A client of the local DynamoDB whose window writes fail while `faults.windowWrites` is set. */
function faultyDynamo(faults: DynamoFaults): DynamoDBClient {
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  client.middlewareStack.add(
    (next, context) => (args) => {
      const item = (args.input as { Item?: Record<string, AttributeValue> }).Item;
      if (
        faults.windowWrites &&
        context.commandName === 'PutItemCommand' &&
        item?.pk?.S?.startsWith('window#')
      )
        return Promise.reject(new Error('injected: DynamoDB unavailable'));
      return next(args);
    },
    { step: 'initialize', name: 'injectWindowWriteFailures' },
  );
  return client;
}

interface Setup {
  readonly table: string;
  readonly prefix: string;
  readonly transport: FlakyTransport;
  readonly faults: DynamoFaults;
  readonly handler: (event: MSKEvent) => Promise<void>;
}

/** Fresh topics, a fresh table and index prefix, the clock at 06:40, and a handler over them. */
async function setUp(retryBudgetMs: number): Promise<Setup> {
  scenario++;
  setClock(NOW0);
  await deleteTopicsAndWait(admin, TOPICS);
  await admin.createTopics({
    topics: TOPICS.map((topic) => ({ topic, numPartitions: 2, replicationFactor: 1 })),
  });
  await waitForLeaders(admin, TOPICS);
  const table = `aggregate-state-${scenario}`;
  await dynamo.createTable({ name: table });
  const prefix = `agg-test-${scenario}`;
  const transport = new FlakyTransport(createSearchTransport({ endpoint: search.url, auth: 'none' }));
  const faults: DynamoFaults = { windowWrites: false };
  const definition = createAggregateConsumer({
    enrichedTopic: ENRICHED,
    aggregatesTopic: AGGREGATES,
    deadLetterTopic: DLQ,
    maxValueBytes: 4096,
    table,
    dynamo: faultyDynamo(faults),
    dedupeHorizonSeconds: 7 * 86_400,
    claimLeaseSeconds: 60,
    search: transport,
    indexPrefix: prefix,
    windows: parseWindowSizes('PT1M,PT1H'),
    dimensions: ['type', 'country'],
    allowedLatenessSeconds: 600,
  });
  const handler = createMskHandler(definition, {
    producer: () => Promise.resolve(producer),
    retryBudgetMs,
    now,
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 50))),
  });
  return { table, prefix, transport, faults, handler };
}

function poller(
  setup: Setup,
  options: { retryAttempts?: number; onFailure?: boolean } = {},
): EventSourcePoller {
  return new EventSourcePoller({
    topic: ENRICHED,
    groupId: `aggregate-test-${scenario}-${Date.now()}`,
    handler: setup.handler,
    batchSize: 100,
    maximumBatchingWindowMs: 200,
    retryAttempts: options.retryAttempts ?? 0,
    ...(options.onFailure ? { onFailureTopic: DLQ } : {}),
    retryDelayMs: 50,
  });
}

const ORDERS = {
  lifetimeCount: 0,
  lifetimeValueCents: {},
  openCount: 0,
  lastOrderId: null,
  lastStatus: null,
  lastOrderAt: null,
};

function enriched(
  eventId: string,
  userId: string,
  type: string,
  occurredAt: string,
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    eventId,
    userId,
    type,
    occurredAt,
    schemaVersion: 1,
    ...extra,
    orders: ORDERS,
    enrichedAt: occurredAt,
  });
}

const E1 = '11111111-1111-4111-8111-111111111111';
const E2 = '22222222-2222-4222-8222-222222222222';
const E3 = '33333333-3333-4333-8333-333333333333';
const E4 = '44444444-4444-4444-8444-444444444444';
const E5 = '55555555-5555-4555-8555-555555555555';

/** The valid events: one of them again (same eventId) and one late for its minute. */
const VALID: { key: string; value: string }[] = [
  { key: 'u-1', value: enriched(E1, 'u-1', 'page_view', '2026-11-25T06:33:10.000Z', { country: 'DE' }) },
  {
    key: 'u-2',
    value: enriched(E2, 'u-2', 'purchase', '2026-11-25T06:33:20.000Z', {
      country: 'DE',
      properties: { amountCents: 1299, currency: 'EUR' },
    }),
  },
  {
    key: 'u-1',
    value: enriched(E3, 'u-1', 'purchase', '2026-11-25T06:34:05.000Z', {
      country: 'FR',
      properties: { amountCents: 500, currency: 'USD' },
    }),
  },
  {
    key: 'u-3',
    value: enriched(E4, 'u-3', 'purchase', '2026-11-25T06:35:00.000Z', {
      properties: { amountCents: 250, currency: 'EUR' },
    }),
  },
  // Its minute (06:20) closed at 06:31 (10 minutes of lateness): it counts in the hour only.
  { key: 'u-2', value: enriched(E5, 'u-2', 'click', '2026-11-25T06:20:00.000Z', { country: 'DE' }) },
];

/** E2 again (a client's retried ingest): a new offset, the same eventId. */
const DUPLICATE = VALID[1]!;

type Totals = Record<string, { events: number; users: number; revenueCents: Record<string, number> }>;

/** What the events above add up to, by hand. */
const EXPECTED: Totals = {
  'PT1M|2026-11-25T06:33:00.000Z|type|page_view': { events: 1, users: 1, revenueCents: {} },
  'PT1M|2026-11-25T06:33:00.000Z|type|purchase': { events: 1, users: 1, revenueCents: { EUR: 1299 } },
  'PT1M|2026-11-25T06:33:00.000Z|country|DE': { events: 2, users: 2, revenueCents: { EUR: 1299 } },
  'PT1M|2026-11-25T06:34:00.000Z|type|purchase': { events: 1, users: 1, revenueCents: { USD: 500 } },
  'PT1M|2026-11-25T06:34:00.000Z|country|FR': { events: 1, users: 1, revenueCents: { USD: 500 } },
  'PT1M|2026-11-25T06:35:00.000Z|type|purchase': { events: 1, users: 1, revenueCents: { EUR: 250 } },
  'PT1M|2026-11-25T06:35:00.000Z|country|unknown': { events: 1, users: 1, revenueCents: { EUR: 250 } },
  'PT1H|2026-11-25T06:00:00.000Z|type|page_view': { events: 1, users: 1, revenueCents: {} },
  'PT1H|2026-11-25T06:00:00.000Z|type|purchase': {
    events: 3,
    users: 3,
    revenueCents: { EUR: 1549, USD: 500 },
  },
  'PT1H|2026-11-25T06:00:00.000Z|type|click': { events: 1, users: 1, revenueCents: {} },
  'PT1H|2026-11-25T06:00:00.000Z|country|DE': { events: 3, users: 2, revenueCents: { EUR: 1299 } },
  'PT1H|2026-11-25T06:00:00.000Z|country|FR': { events: 1, users: 1, revenueCents: { USD: 500 } },
  'PT1H|2026-11-25T06:00:00.000Z|country|unknown': { events: 1, users: 1, revenueCents: { EUR: 250 } },
};

async function send(
  messages: readonly { key: string | null; value: string | Buffer | null }[],
  partition?: number,
): Promise<void> {
  await producer.send({
    topic: ENRICHED,
    acks: PRODUCE_ACKS,
    messages: messages.map((m) => (partition === undefined ? m : { ...m, partition })),
  });
}

/** Waits until `condition` holds (polled every 20 ms). */
async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface SearchDoc {
  readonly _id: string;
  readonly _version: number;
  readonly _source: Record<string, unknown> & { version: number; windowKey: string };
}

async function searchDocs(prefix: string): Promise<SearchDoc[]> {
  await fetch(`${search.url}/${prefix}-*/_refresh`, { method: 'POST' });
  const response = await fetch(`${search.url}/${prefix}-*/_search?size=1000&version=true`);
  const body = (await response.json()) as { hits?: { hits: SearchDoc[] } };
  return body.hits?.hits ?? [];
}

/** The newest events.aggregates record per windowKey. */
async function latestAggregates(): Promise<Map<string, Record<string, unknown> & { version: number }>> {
  const records = await readTopic({
    brokers: [bootstrap()],
    topic: AGGREGATES,
    fromBeginning: true,
    toEnd: true,
  });
  const latest = new Map<string, Record<string, unknown> & { version: number }>();
  for (const r of records) {
    const value = JSON.parse(r.value!.toString()) as Record<string, unknown> & { version: number };
    expect(r.key!.toString()).toBe(value.windowKey);
    const seen = latest.get(String(value.windowKey));
    if (!seen || seen.version < value.version) latest.set(String(value.windowKey), value);
  }
  return latest;
}

/**
 * The totals in OpenSearch, after checking that each document's external version is its `version`,
 * that its index is the window's, and that events.aggregates' newest record per key is the same
 * document.
 */
async function totals(setup: Setup): Promise<Totals> {
  const docs = await searchDocs(setup.prefix);
  const latest = await latestAggregates();
  expect([...latest.keys()].sort()).toEqual(docs.map((d) => d._id).sort());
  const out: Totals = {};
  for (const doc of docs) {
    expect(doc._version).toBe(doc._source.version);
    expect(doc._id).toBe(doc._source.windowKey);
    expect(latest.get(doc._id)).toEqual(doc._source);
    const { events, users, revenueCents } = doc._source as unknown as Totals[string];
    out[doc._id] = { events, users, revenueCents };
  }
  return out;
}

async function dlqRecords(): Promise<{ headers: Record<string, string>; value: string | null }[]> {
  const records = await readTopic({ brokers: [bootstrap()], topic: DLQ, fromBeginning: true, toEnd: true });
  return records.map((r) => ({ headers: { ...r.headers }, value: r.value?.toString() ?? null }));
}

beforeAll(async () => {
  admin = await connectAdmin();
  producer = createProducer(createKafka({ brokers: bootstrap(), auth: 'none', clientId: 'aggregate-test' }));
  await producer.connect();
  dynamo = await LocalDynamo.start();
  search = await LocalOpenSearch.start();
}, 240_000);

afterAll(async () => {
  await producer?.disconnect();
  await deleteTopicsAndWait(admin, TOPICS);
  await admin?.disconnect();
  await dynamo?.stop();
  await search?.destroy();
});

test('exact aggregates; a duplicate eventId at a later offset counts once; malformed records are dead-lettered with reason and position', async () => {
  const setup = await setUp(5_000);
  await send(VALID);
  await send([
    { key: 'u-9', value: '{"eventId": nope' },
    { key: 'u-9', value: enriched('not-a-uuid', 'u-9', 'page_view', '2026-11-25T06:33:00.000Z') },
    { key: 'u-9', value: Buffer.alloc(5000, 'x') },
  ]);
  await send([DUPLICATE]);
  const p = poller(setup);
  await p.start();
  try {
    await p.untilCaughtUp();
  } finally {
    await p.stop();
  }
  expect(await totals(setup)).toEqual(EXPECTED);
  const dead = await dlqRecords();
  expect(
    dead.map((d) => [d.headers['dlq.reason'], d.headers['dlq.consumer'], d.headers['dlq.source.topic']]),
  ).toEqual([
    ['invalid_json', 'aggregate', ENRICHED],
    ['schema_violation', 'aggregate', ENRICHED],
    ['too_large', 'aggregate', ENRICHED],
  ]);
  expect(dead[0]!.value).toBe('{"eventId": nope');
  expect(dead[2]!.headers['dlq.detail']).toBe('value of 5000 bytes, more than the limit of 4096');
  // Their positions: one partition (one key), consecutive offsets.
  const partitions = new Set(dead.map((d) => d.headers['dlq.source.partition']));
  expect(partitions.size).toBe(1);
  const first = Number(dead[0]!.headers['dlq.source.offset']);
  expect(dead.map((d) => d.headers['dlq.source.offset'])).toEqual([first, first + 1, first + 2].map(String));
  expect(p.counters.failures).toBe(0);

  // The same batches delivered again, whole and split in parts: nothing changes, versions included.
  const before = await searchDocs(setup.prefix);
  for (const event of p.events) await setup.handler(JSON.parse(JSON.stringify(event)) as MSKEvent);
  for (const event of p.events) {
    for (const [key, list] of Object.entries(event.records)) {
      for (let i = 0; i < list.length; i++) {
        await setup.handler({ ...event, records: { [key]: [list[i]!] } });
      }
    }
  }
  expect(await totals(setup)).toEqual(EXPECTED);
  const after = await searchDocs(setup.prefix);
  expect(after.map((d) => [d._id, d._version]).sort()).toEqual(before.map((d) => [d._id, d._version]).sort());
});

test('a transient OpenSearch failure in the middle of a batch and an outage shorter than the retry budget: identical aggregates, nothing dead-lettered', async () => {
  const setup = await setUp(10_000);
  // The first bulk fails (the state is committed before it); later, three in a row fail.
  setup.transport.failures = 1;
  await send(VALID.slice(0, 3));
  const p = poller(setup, { retryAttempts: 2, onFailure: true });
  await p.start();
  try {
    await p.untilCaughtUp();
    setup.transport.failures = 3;
    await send([...VALID.slice(3), DUPLICATE]);
    await p.untilCaughtUp();
  } finally {
    await p.stop();
  }
  expect(await totals(setup)).toEqual(EXPECTED);
  expect(await dlqRecords()).toEqual([]);
  expect(p.counters.failures).toBe(0);
  expect(p.counters.onFailureBatches).toBe(0);
});

test('OpenSearch down for longer than the retries: the batch goes to dlq.aggregate in the on-failure shape, and its replay counts once', async () => {
  const setup = await setUp(500);
  const p = poller(setup, { retryAttempts: 1, onFailure: true });
  await p.start();
  try {
    await search.stop();
    await send(VALID);
    await p.untilCaughtUp(120_000);
    expect(p.counters.onFailureBatches).toBeGreaterThan(0);
    const dead = await dlqRecords();
    expect(dead.length).toBe(VALID.length);
    const replay = dead.flatMap((d) => recordsToReplay(d.value!));
    expect(replay.map((r) => r.value!.toString()).sort()).toEqual(VALID.map((v) => v.value).sort());
    await search.start();
    await send(replay.map((r) => ({ key: r.key?.toString() ?? null, value: r.value })));
    await p.untilCaughtUp(120_000);
  } finally {
    await search.start();
    await p.stop();
  }
  expect(await totals(setup)).toEqual(EXPECTED);
});

const E6 = '66666666-6666-4666-8666-666666666666';
const E7 = '77777777-7777-4777-8777-777777777777';

test('a batch whose window writes keep failing goes to dlq.aggregate, later batches of its partition write the same windows, and its replay counts once', async () => {
  const setup = await setUp(300);
  const skipped = [
    { key: 'u-1', value: enriched(E1, 'u-1', 'page_view', '2026-11-25T06:33:10.000Z', { country: 'DE' }) },
    {
      key: 'u-1',
      value: enriched(E3, 'u-1', 'purchase', '2026-11-25T06:34:05.000Z', {
        country: 'FR',
        properties: { amountCents: 500, currency: 'USD' },
      }),
    },
  ];
  // The same windows as the skipped batch's.
  const later = [
    { key: 'u-2', value: enriched(E6, 'u-2', 'page_view', '2026-11-25T06:33:40.000Z', { country: 'DE' }) },
    {
      key: 'u-3',
      value: enriched(E7, 'u-3', 'purchase', '2026-11-25T06:34:50.000Z', {
        country: 'FR',
        properties: { amountCents: 200, currency: 'EUR' },
      }),
    },
  ];
  const p = poller(setup, { retryAttempts: 1, onFailure: true });
  await p.start();
  try {
    setup.faults.windowWrites = true;
    await send(skipped, 0);
    await p.untilCaughtUp();
    expect(p.counters.onFailureBatches).toBe(1);
    setup.faults.windowWrites = false;
    await send(later, 0);
    await p.untilCaughtUp();
    const replay = (await dlqRecords()).flatMap((d) => recordsToReplay(d.value!));
    expect(replay.map((r) => [r.partition, r.offset, r.value!.toString()])).toEqual([
      [0, 0, skipped[0]!.value],
      [0, 1, skipped[1]!.value],
    ]);
    // The dead attempt's claims are taken over once their lease (60 s) has passed.
    setClock(now() + 61_000);
    await send(
      replay.map((r) => ({ key: r.key?.toString() ?? null, value: r.value })),
      0,
    );
    await p.untilCaughtUp();
  } finally {
    await p.stop();
  }
  const expected: Totals = {
    'PT1M|2026-11-25T06:33:00.000Z|type|page_view': { events: 2, users: 2, revenueCents: {} },
    'PT1M|2026-11-25T06:33:00.000Z|country|DE': { events: 2, users: 2, revenueCents: {} },
    'PT1M|2026-11-25T06:34:00.000Z|type|purchase': {
      events: 2,
      users: 2,
      revenueCents: { USD: 500, EUR: 200 },
    },
    'PT1M|2026-11-25T06:34:00.000Z|country|FR': { events: 2, users: 2, revenueCents: { USD: 500, EUR: 200 } },
    'PT1H|2026-11-25T06:00:00.000Z|type|page_view': { events: 2, users: 2, revenueCents: {} },
    'PT1H|2026-11-25T06:00:00.000Z|type|purchase': {
      events: 2,
      users: 2,
      revenueCents: { USD: 500, EUR: 200 },
    },
    'PT1H|2026-11-25T06:00:00.000Z|country|DE': { events: 2, users: 2, revenueCents: {} },
    'PT1H|2026-11-25T06:00:00.000Z|country|FR': { events: 2, users: 2, revenueCents: { USD: 500, EUR: 200 } },
  };
  expect(await totals(setup)).toEqual(expected);
  expect(p.counters.onFailureBatches).toBe(1);

  // Every batch delivered again, the skipped one at its old offsets included: nothing changes.
  const before = await searchDocs(setup.prefix);
  for (const event of p.events) await setup.handler(JSON.parse(JSON.stringify(event)) as MSKEvent);
  expect(await totals(setup)).toEqual(expected);
  const after = await searchDocs(setup.prefix);
  expect(after.map((d) => [d._id, d._version]).sort()).toEqual(before.map((d) => [d._id, d._version]).sort());
});

test('a window that closes while OpenSearch is down is emitted by the retry after it closed', async () => {
  const setup = await setUp(300);
  // 10 s before the 06:33 minute closes (06:34 + 600 s of lateness).
  setClock(Date.parse('2026-11-25T06:43:50.000Z'));
  setup.transport.failures = Number.MAX_SAFE_INTEGER;
  // No on-failure topic: the batch is retried until it succeeds.
  const p = poller(setup);
  await p.start();
  try {
    await send([VALID[0]!]);
    await until(() => p.counters.failures >= 1);
    setClock(Date.parse('2026-11-25T06:44:30.000Z'));
    // Two more failures: every invocation from then on reads the clock after the window closed.
    const failures = p.counters.failures;
    await until(() => p.counters.failures >= failures + 2);
    setup.transport.failures = 0;
    await p.untilCaughtUp();
  } finally {
    await p.stop();
  }
  expect(await totals(setup)).toEqual({
    'PT1M|2026-11-25T06:33:00.000Z|type|page_view': { events: 1, users: 1, revenueCents: {} },
    'PT1M|2026-11-25T06:33:00.000Z|country|DE': { events: 1, users: 1, revenueCents: {} },
    'PT1H|2026-11-25T06:00:00.000Z|type|page_view': { events: 1, users: 1, revenueCents: {} },
    'PT1H|2026-11-25T06:00:00.000Z|country|DE': { events: 1, users: 1, revenueCents: {} },
  });
});

test('two partitions writing the same windows from concurrent invocations: the last events.aggregates record of each window is its highest version', async () => {
  scenario++;
  const table = `aggregate-state-${scenario}`;
  await dynamo.createTable({ name: table });
  const accepted: SearchTransport = {
    request: (params) =>
      Promise.resolve({
        statusCode: 200,
        body: {
          items: (params.bulkBody ?? [])
            .filter((_, i) => i % 2 === 0)
            .map(() => ({ index: { status: 201 } })),
        },
      }),
  };
  const definition = createAggregateConsumer({
    enrichedTopic: ENRICHED,
    aggregatesTopic: AGGREGATES,
    deadLetterTopic: DLQ,
    table,
    dynamo: dynamo.client,
    dedupeHorizonSeconds: 7 * 86_400,
    claimLeaseSeconds: 60,
    search: accepted,
    indexPrefix: `agg-test-${scenario}`,
    windows: parseWindowSizes('PT1M,PT1H'),
    dimensions: ['type', 'country'],
    allowedLatenessSeconds: 600,
    now: () => NOW0,
  });
  const log: { key: string; version: number; events: number }[] = [];
  const append = (messages: readonly { key: string; value: string }[]): void => {
    for (const m of messages) {
      const value = JSON.parse(m.value) as { version: number; events: number };
      log.push({ key: m.key, version: value.version, events: value.events });
    }
  };
  const context = (
    offset: number,
    produce: (messages: readonly { key: string; value: string }[]) => Promise<void>,
  ): PartitionContext => ({
    deadLetter: () => Promise.reject(new Error('nothing is dead-lettered here')),
    produce: (_topic, messages) => produce(messages),
    count: () => undefined,
    now: () => NOW0,
    range: { first: offset, last: offset },
  });
  const recordOf = (partition: number, value: string): SourceRecord<unknown> => ({
    topic: ENRICHED,
    partition,
    offset: 0,
    timestamp: NOW0,
    key: null,
    value: JSON.parse(value) as unknown,
    headers: {},
  });
  const x = recordOf(0, enriched(E1, 'u-1', 'page_view', '2026-11-25T06:33:10.000Z', { country: 'DE' }));
  const y = recordOf(1, enriched(E6, 'u-2', 'page_view', '2026-11-25T06:33:40.000Z', { country: 'DE' }));
  // Partition 0 writes version 1 of each window; before it produces them, partition 1 writes and
  // produces version 2; then partition 0's version 1 lands.
  let interleaved = false;
  await definition.apply(
    [x],
    context(0, async (messages) => {
      if (!interleaved) {
        interleaved = true;
        await definition.apply(
          [y],
          context(0, (ys) => {
            append(ys);
            return Promise.resolve();
          }),
        );
      }
      append(messages);
    }),
  );
  const key = 'PT1M|2026-11-25T06:33:00.000Z|type|page_view';
  expect(log.filter((r) => r.key === key)).toEqual([
    { key, version: 2, events: 2 },
    { key, version: 1, events: 1 },
    { key, version: 2, events: 2 },
  ]);
  const last = new Map(log.map((r) => [r.key, r]));
  expect(Object.fromEntries(last)).toEqual({
    [key]: { key, version: 2, events: 2 },
    'PT1M|2026-11-25T06:33:00.000Z|country|DE': {
      key: 'PT1M|2026-11-25T06:33:00.000Z|country|DE',
      version: 2,
      events: 2,
    },
    'PT1H|2026-11-25T06:00:00.000Z|type|page_view': {
      key: 'PT1H|2026-11-25T06:00:00.000Z|type|page_view',
      version: 2,
      events: 2,
    },
    'PT1H|2026-11-25T06:00:00.000Z|country|DE': {
      key: 'PT1H|2026-11-25T06:00:00.000Z|country|DE',
      version: 2,
      events: 2,
    },
  });
});
