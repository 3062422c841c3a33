/**
 * The enrich function on the real engines: its handler (lambda/enrich/index.ts, unchanged, built
 * from its environment) driven by the local event-source poller from records on the local broker,
 * against dynalite. The one difference the local engines force: KAFKA_AUTH=none and
 * DYNAMODB_ENDPOINT. Every topic name comes from the catalog.
 */
import { GetItemCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Admin, Producer } from 'kafkajs';
import { NO_ORDERS, type OrdersView } from '../../lambda/shared/contract/enriched-event';
import { createKafka, createProducer } from '../../lambda/shared/kafka-client';
import type { MSKEvent } from '../../lambda/shared/consumer/msk-event';
import { consumerGroupId } from '../../lib/events/consumer-groups';
import { topicName } from '../../lib/topics/topic-specs';
import {
  bootstrap,
  connectAdmin,
  consumeRecords,
  deleteTopicsAndWait,
  waitForLeaders,
} from './harness/clients';
import { LocalDynamo } from './harness/dynalite';
import { EventSourcePoller } from './harness/event-source-poller';

const EVENTS = topicName('eventsUser');
const ORDERS = topicName('cdcOrders');
const ENRICHED = topicName('eventsEnriched');
const DLQ = topicName('dlqEnrich');
const TOPICS = [EVENTS, ORDERS, ENRICHED, DLQ];
const TABLE = 'enrich-state-engine-test';
const DAY = 86_400;

let admin: Admin;
let producer: Producer;
let local: LocalDynamo;
let dynamo: DynamoDBClient;
let handler: (event: MSKEvent) => Promise<void>;
let eventsPoller: EventSourcePoller;
let ordersPoller: EventSourcePoller;
const started = Date.now();

const ids = {
  e1: '11111111-1111-4111-8111-111111111111',
  e2: '22222222-2222-4222-8222-222222222222',
  e3: '33333333-3333-4333-8333-333333333333',
  e4: '44444444-4444-4444-8444-444444444444',
  e5: '55555555-5555-4555-8555-555555555555',
  e6: '66666666-6666-4666-8666-666666666666',
};

function appEvent(eventId: string, userId: string, type = 'page_view'): Record<string, unknown> {
  return { eventId, userId, type, occurredAt: '2026-11-25T06:00:00.000Z', country: 'DE', schemaVersion: 1 };
}

function change(
  id: number,
  userId: string,
  status: string,
  amountCents: number,
  currency: string,
  createdAt: string,
  lsn: number,
  op: 'c' | 'u' | 'd' | 'r' = 'c',
): Record<string, unknown> {
  return {
    id,
    user_id: userId,
    status,
    amount_cents: amountCents,
    currency,
    created_at: createdAt,
    updated_at: createdAt,
    __op: op,
    __lsn: lsn,
    __source_ts_ms: 1795154400000,
    __deleted: op === 'd' ? 'true' : 'false',
  };
}

async function send(
  topic: string,
  messages: { key: string | null; value: unknown; partition: number }[],
): Promise<{ partition: number; offset: number }[]> {
  const positions: { partition: number; offset: number }[] = [];
  for (const m of messages) {
    const [meta] = await producer.send({
      topic,
      messages: [
        {
          key: m.key,
          value: m.value === null ? null : typeof m.value === 'string' ? m.value : JSON.stringify(m.value),
          partition: m.partition,
        },
      ],
    });
    positions.push({ partition: meta!.partition, offset: Number(meta!.baseOffset) });
  }
  return positions;
}

async function orderItem(id: number): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.send(
    new GetItemCommand({
      TableName: TABLE,
      Key: { pk: { S: `order#${id}` }, sk: { S: 'order' } },
      ConsistentRead: true,
    }),
  );
  if (!Item) return undefined;
  return Object.fromEntries(Object.entries(Item).map(([k, v]) => [k, v.S ?? v.N ?? v.BOOL]));
}

interface Enriched {
  readonly key: string | null;
  readonly event: Record<string, unknown> & { eventId: string; orders: OrdersView; enrichedAt: string };
}

async function enriched(count: number): Promise<Enriched[]> {
  const records = await consumeRecords(ENRICHED, count, { settleMs: 1_000 });
  return records.map((r) => ({ key: r.key, event: JSON.parse(r.value!) as Enriched['event'] }));
}

function withoutEnrichedAt(e: Enriched): unknown {
  const { enrichedAt, ...rest } = e.event;
  expect(Date.parse(enrichedAt)).toBeGreaterThanOrEqual(started);
  expect(Date.parse(enrichedAt)).toBeLessThanOrEqual(Date.now());
  return { key: e.key, ...rest };
}

beforeAll(async () => {
  admin = await connectAdmin();
  await deleteTopicsAndWait(admin, TOPICS);
  await admin.createTopics({
    waitForLeaders: false,
    topics: [
      { topic: EVENTS, numPartitions: 2, replicationFactor: 1 },
      {
        topic: ORDERS,
        numPartitions: 3,
        replicationFactor: 1,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
      },
      { topic: ENRICHED, numPartitions: 2, replicationFactor: 1 },
      { topic: DLQ, numPartitions: 1, replicationFactor: 1 },
    ],
  });
  await waitForLeaders(admin, TOPICS);
  producer = createProducer(createKafka({ brokers: bootstrap(), auth: 'none', clientId: 'enrich-test' }));
  await producer.connect();

  local = await LocalDynamo.start([{ name: TABLE, ordersByUser: true }]);
  dynamo = local.client;
  const endpoint = local.endpoint;

  Object.assign(process.env, {
    BOOTSTRAP_BROKERS: bootstrap(),
    KAFKA_AUTH: 'none',
    DEAD_LETTER_TOPIC: DLQ,
    RETRY_BUDGET_SECONDS: '5',
    CONSUMER_NAME: 'enrich',
    DYNAMODB_ENDPOINT: endpoint,
    AWS_REGION: 'us-east-1',
    EVENTS_TOPIC: EVENTS,
    ORDERS_TOPIC: ORDERS,
    ENRICHED_TOPIC: ENRICHED,
    STATE_TABLE: TABLE,
    DEDUPE_HORIZON_SECONDS: String(7 * DAY),
    CLAIM_LEASE_SECONDS: '60',
    POWERTOOLS_METRICS_NAMESPACE: 'StreamingPlatform',
    POWERTOOLS_LOG_LEVEL: 'WARN',
  });
  handler = (await import('../../lambda/enrich/index')).handler;

  // The mappings' consumer groups, as the CDK names them.
  const poller = (source: 'eventsUser' | 'cdcOrders'): EventSourcePoller =>
    new EventSourcePoller({
      topic: topicName(source),
      groupId: consumerGroupId('enrich', source),
      handler,
      batchSize: 100,
      maximumBatchingWindowMs: 300,
      retryAttempts: 2,
    });
  eventsPoller = poller('eventsUser');
  ordersPoller = poller('cdcOrders');
  await Promise.all([eventsPoller.start(), ordersPoller.start()]);
});

afterAll(async () => {
  await eventsPoller?.stop();
  await ordersPoller?.stop();
  await producer?.disconnect();
  if (admin) {
    await deleteTopicsAndWait(admin, TOPICS);
    await admin.disconnect();
  }
  await local?.stop();
});

test('happy path: two orders of one user changing in different partitions at once, then events joined with the view', async () => {
  // user-a: three orders on three partitions, in one batch of the poller (partitions concurrently)
  await send(ORDERS, [
    {
      key: '{"id":1}',
      value: change(1, 'user-a', 'created', 1000, 'EUR', '2026-11-25T05:00:00.000001Z', 100),
      partition: 0,
    },
    {
      key: '{"id":2}',
      value: change(2, 'user-a', 'paid', 2500, 'EUR', '2026-11-25T05:10:00Z', 110),
      partition: 1,
    },
    {
      key: '{"id":3}',
      value: change(3, 'user-a', 'shipped', 700, 'USD', '2026-11-25T05:20:00.5Z', 120),
      partition: 2,
    },
  ]);
  await ordersPoller.untilCaughtUp();
  await send(EVENTS, [
    { key: 'user-a', value: appEvent(ids.e1, 'user-a', 'purchase'), partition: 0 },
    { key: 'user-b', value: appEvent(ids.e2, 'user-b'), partition: 1 },
  ]);
  await eventsPoller.untilCaughtUp();

  const out = await enriched(2);
  expect(
    out.map(withoutEnrichedAt).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
  ).toEqual([
    {
      key: 'user-a',
      ...appEvent(ids.e1, 'user-a', 'purchase'),
      orders: {
        lifetimeCount: 3,
        lifetimeValueCents: { EUR: 2500, USD: 700 },
        openCount: 2,
        lastOrderId: 3,
        lastStatus: 'shipped',
        lastOrderAt: '2026-11-25T05:20:00.500Z',
      },
    },
    { key: 'user-b', ...appEvent(ids.e2, 'user-b'), orders: NO_ORDERS },
  ]);
});

test('the same batch delivered twice: order state unchanged, events produced again (at least once)', async () => {
  const stateBefore = await dynamo.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true }));
  const ordersBatch = ordersPoller.events.find((e) =>
    Object.values(e.records)
      .flat()
      .some((r) => r.partition === 2),
  )!;
  await handler(JSON.parse(JSON.stringify(ordersBatch)) as MSKEvent);
  const stateAfter = await dynamo.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true }));
  expect(stateAfter.Items).toEqual(stateBefore.Items);

  // every batch of the happy path again (the poller may have split its two events)
  for (const batch of new Set(eventsPoller.events)) {
    await handler(JSON.parse(JSON.stringify(batch)) as MSKEvent);
  }
  const out = await enriched(4);
  expect(out.map((e) => e.event.eventId).sort()).toEqual([ids.e1, ids.e1, ids.e2, ids.e2]);
});

test('the same eventId again at a later offset is not produced again', async () => {
  await send(EVENTS, [{ key: 'user-a', value: appEvent(ids.e1, 'user-a', 'purchase'), partition: 0 }]);
  await eventsPoller.untilCaughtUp();
  expect((await enriched(4)).map((e) => e.event.eventId).sort()).toEqual([ids.e1, ids.e1, ids.e2, ids.e2]);
});

test('changes out of order, a delete with its tombstone, and an older change replayed after them', async () => {
  await send(ORDERS, [
    // order 4: a newer change, then an older one (lower __lsn) after it
    {
      key: '{"id":4}',
      value: change(4, 'user-c', 'paid', 4200, 'EUR', '2026-11-25T04:00:00Z', 310, 'u'),
      partition: 1,
    },
    {
      key: '{"id":4}',
      value: change(4, 'user-c', 'created', 4200, 'EUR', '2026-11-25T04:00:00Z', 300),
      partition: 1,
    },
    // order 5: created, deleted (last row values), tombstone, then the create replayed
    {
      key: '{"id":5}',
      value: change(5, 'user-c', 'created', 900, 'GBP', '2026-11-25T04:30:00Z', 400),
      partition: 2,
    },
    {
      key: '{"id":5}',
      value: change(5, 'user-c', 'created', 900, 'GBP', '2026-11-25T04:30:00Z', 410, 'd'),
      partition: 2,
    },
    { key: '{"id":5}', value: null, partition: 2 },
    {
      key: '{"id":5}',
      value: change(5, 'user-c', 'created', 900, 'GBP', '2026-11-25T04:30:00Z', 400, 'r'),
      partition: 2,
    },
  ]);
  await ordersPoller.untilCaughtUp();

  expect(await orderItem(4)).toMatchObject({ status: 'paid', lsn: '310', deleted: false });
  expect((await orderItem(4))!.expiresAt).toBeUndefined();
  const deleted = await orderItem(5);
  expect(deleted).toMatchObject({ status: 'created', amountCents: '900', lsn: '410', deleted: true });
  expect(Number(deleted!.expiresAt)).toBeGreaterThanOrEqual(Math.floor(started / 1000) + 7 * DAY);

  await send(EVENTS, [{ key: 'user-c', value: appEvent(ids.e3, 'user-c'), partition: 1 }]);
  await eventsPoller.untilCaughtUp();
  const e3 = (await enriched(5)).find((e) => e.event.eventId === ids.e3)!;
  expect(e3.event.orders).toEqual({
    lifetimeCount: 1,
    lifetimeValueCents: { EUR: 4200 },
    openCount: 1,
    lastOrderId: 4,
    lastStatus: 'paid',
    lastOrderAt: '2026-11-25T04:00:00.000Z',
  });
});

test('an order change arriving after the event it relates to: the event saw the state without it, and is not enriched again', async () => {
  await send(EVENTS, [{ key: 'user-d', value: appEvent(ids.e4, 'user-d', 'purchase'), partition: 0 }]);
  await eventsPoller.untilCaughtUp();
  await send(ORDERS, [
    {
      key: '{"id":6}',
      value: change(6, 'user-d', 'paid', 5000, 'EUR', '2026-11-25T06:00:00Z', 500),
      partition: 0,
    },
  ]);
  await ordersPoller.untilCaughtUp();
  await send(EVENTS, [{ key: 'user-d', value: appEvent(ids.e5, 'user-d'), partition: 0 }]);
  await eventsPoller.untilCaughtUp();

  const forUser = (await enriched(7)).filter((e) => e.key === 'user-d');
  expect(forUser.map((e) => [e.event.eventId, e.event.orders])).toEqual([
    [ids.e4, NO_ORDERS],
    [
      ids.e5,
      {
        lifetimeCount: 1,
        lifetimeValueCents: { EUR: 5000 },
        openCount: 1,
        lastOrderId: 6,
        lastStatus: 'paid',
        lastOrderAt: '2026-11-25T06:00:00.000Z',
      },
    ],
  ]);
});

test('malformed JSON, a schema violation, an oversized record and a bad order key go to dlq.enrich with reason and position; the rest is processed', async () => {
  const oversized = {
    ...appEvent('77777777-7777-4777-8777-777777777777', 'user-e'),
    padding: 'x'.repeat(21_000),
  };
  const [malformed, violation, tooLarge, valid] = await send(EVENTS, [
    { key: 'user-e', value: '{"eventId": "8', partition: 1 },
    { key: 'user-e', value: { ...appEvent('not-a-uuid', 'user-e') }, partition: 1 },
    { key: 'user-e', value: oversized, partition: 1 },
    { key: 'user-e', value: appEvent(ids.e6, 'user-e'), partition: 1 },
  ]);
  const [badKey] = await send(ORDERS, [
    { key: '7', value: change(7, 'user-e', 'paid', 100, 'EUR', '2026-11-25T06:00:00Z', 700), partition: 0 },
  ]);
  await Promise.all([eventsPoller.untilCaughtUp(), ordersPoller.untilCaughtUp()]);

  const dead = await consumeRecords(DLQ, 4, { settleMs: 1_000 });
  const summary = dead
    .map((r) => ({
      reason: r.headers['dlq.reason'],
      topic: r.headers['dlq.source.topic'],
      partition: Number(r.headers['dlq.source.partition']),
      offset: Number(r.headers['dlq.source.offset']),
      consumer: r.headers['dlq.consumer'],
      bytes: Buffer.byteLength(r.value ?? ''),
    }))
    .sort((a, b) => a.topic!.localeCompare(b.topic!) || a.offset - b.offset);
  expect(summary).toEqual([
    {
      reason: 'processing_error',
      topic: ORDERS,
      ...badKey,
      consumer: 'enrich',
      bytes: Buffer.byteLength(
        JSON.stringify(change(7, 'user-e', 'paid', 100, 'EUR', '2026-11-25T06:00:00Z', 700)),
      ),
    },
    { reason: 'invalid_json', topic: EVENTS, ...malformed, consumer: 'enrich', bytes: 14 },
    {
      reason: 'schema_violation',
      topic: EVENTS,
      ...violation,
      consumer: 'enrich',
      bytes: Buffer.byteLength(JSON.stringify(appEvent('not-a-uuid', 'user-e'))),
    },
    {
      reason: 'too_large',
      topic: EVENTS,
      ...tooLarge,
      consumer: 'enrich',
      bytes: Buffer.byteLength(JSON.stringify(oversized)),
    },
  ]);
  expect(dead.find((r) => r.headers['dlq.reason'] === 'invalid_json')!.value).toBe('{"eventId": "8');
  expect(dead.find((r) => r.headers['dlq.reason'] === 'processing_error')!.headers['dlq.detail']).toBe(
    'key is not {"id": <order id>}',
  );
  expect(await orderItem(7)).toBeUndefined();

  const e6 = (await enriched(8)).filter((e) => e.key === 'user-e');
  expect(e6.map((e) => e.event.eventId)).toEqual([ids.e6]);
  expect(valid!.offset).toBe(tooLarge!.offset + 1);
});
