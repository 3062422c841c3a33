/**
 * The aggregate consumer on the real engines: the consumer runtime's handler with the aggregate
 * consumer (composed as lambda/aggregate/index.ts composes it, with an injected clock and a
 * transport that can fail on demand), driven by the local event-source poller from records on the
 * local broker, against dynalite and a local OpenSearch node. Every topic name comes from the
 * catalog; every expected aggregate is written by hand.
 */
import type { Admin, Producer } from 'kafkajs';
import { createAggregateConsumer } from '../../lambda/aggregate/aggregate';
import { createSearchTransport, type SearchTransport } from '../../lambda/aggregate/search-sink';
import { parseWindowSizes } from '../../lambda/aggregate/windows';
import type { MSKEvent } from '../../lambda/shared/consumer/msk-event';
import { recordsToReplay } from '../../lambda/shared/consumer/on-failure';
import { createMskHandler } from '../../lambda/shared/consumer/runtime';
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

/** The processing clock: 06:40 on the events' day, moving with real time. */
const NOW0 = Date.parse('2026-11-25T06:40:00.000Z');
const t0 = Date.now();
const now = (): number => NOW0 + (Date.now() - t0);

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

interface Setup {
  readonly table: string;
  readonly prefix: string;
  readonly transport: FlakyTransport;
  readonly handler: (event: MSKEvent) => Promise<void>;
}

/** Fresh topics, a fresh table and index prefix, and a handler over them. */
async function setUp(retryBudgetMs: number): Promise<Setup> {
  scenario++;
  await deleteTopicsAndWait(admin, TOPICS);
  await admin.createTopics({
    topics: TOPICS.map((topic) => ({ topic, numPartitions: 2, replicationFactor: 1 })),
  });
  await waitForLeaders(admin, TOPICS);
  const table = `aggregate-state-${scenario}`;
  await dynamo.createTable({ name: table });
  const prefix = `agg-test-${scenario}`;
  const transport = new FlakyTransport(createSearchTransport({ endpoint: search.url, auth: 'none' }));
  const definition = createAggregateConsumer({
    enrichedTopic: ENRICHED,
    aggregatesTopic: AGGREGATES,
    deadLetterTopic: DLQ,
    maxValueBytes: 4096,
    table,
    dynamo: dynamo.client,
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
  return { table, prefix, transport, handler };
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
): Promise<void> {
  await producer.send({ topic: ENRICHED, acks: PRODUCE_ACKS, messages: [...messages] });
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
