/**
 * The local event-source poller (test/engines/harness/event-source-poller.ts) on the real broker:
 * the MSK event shape, batching, commits after the handler returns, retries then Lambda's on-failure
 * record, and a replay of that record back to its source.
 */
import type { Admin } from 'kafkajs';
import type { MSKEvent, MSKRecord } from '../../lambda/shared/consumer/msk-event';
import { recordsToReplay, type OnFailureValue } from '../../lambda/shared/consumer/on-failure';
import { topicName } from '../../lib/topics/topic-specs';
import {
  bootstrap,
  connectAdmin,
  consumeRecords,
  deleteTopicsAndWait,
  kafkaClient,
  waitForLeaders,
} from './harness/clients';
import { EventSourcePoller } from './harness/event-source-poller';

const SOURCE = topicName('eventsUser');
const ON_FAILURE = topicName('dlqEnrich');
/** A topic of its own for the read-ahead case (its offsets start at 0). */
const READ_AHEAD = 'probe.poller-read-ahead';

let admin: Admin;

beforeAll(async () => {
  admin = await connectAdmin();
  await deleteTopicsAndWait(admin, [SOURCE, ON_FAILURE, READ_AHEAD]);
  await admin.createTopics({
    topics: [
      { topic: SOURCE, numPartitions: 2, replicationFactor: 1 },
      { topic: ON_FAILURE, numPartitions: 1, replicationFactor: 1 },
      { topic: READ_AHEAD, numPartitions: 2, replicationFactor: 1 },
    ],
  });
  await waitForLeaders(admin, [SOURCE, ON_FAILURE, READ_AHEAD]);
});

afterAll(async () => {
  await deleteTopicsAndWait(admin, [SOURCE, ON_FAILURE, READ_AHEAD]);
  await admin.disconnect();
});

async function produce(
  messages: {
    partition: number;
    key: string | null;
    value: string | null;
    headers?: Record<string, string>;
  }[],
  topic = SOURCE,
): Promise<void> {
  const producer = kafkaClient('poller-test-producer').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

async function committed(groupId: string): Promise<Record<number, string>> {
  const [topic] = await admin.fetchOffsets({ groupId, topics: [SOURCE] });
  return Object.fromEntries((topic?.partitions ?? []).map((p) => [p.partition, p.offset]));
}

/** The source's end offsets (retried while the admin's metadata of a new topic settles). */
async function endOffsets(): Promise<Record<number, number>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return Object.fromEntries(
        (await admin.fetchTopicOffsets(SOURCE)).map((p) => [p.partition, Number(p.high)]),
      );
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const allRecords = (events: readonly MSKEvent[]): MSKRecord[] =>
  events.flatMap((e) => Object.values(e.records).flat());

test('the handler gets the MSK event shape, in batches of at most batchSize, and offsets are committed only after it returns', async () => {
  const before = await endOffsets();
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const received: MSKEvent[] = [];
  const poller = new EventSourcePoller({
    topic: SOURCE,
    groupId: 'poller-shape',
    batchSize: 3,
    maximumBatchingWindowMs: 300,
    retryAttempts: 0,
    handler: async (event) => {
      received.push(event);
      await gate;
    },
  });
  await poller.start();
  try {
    await produce([
      { partition: 0, key: 'user-1', value: '{"n":1}', headers: { trace: 't-1' } },
      { partition: 0, key: 'user-2', value: '{"n":2}' },
      { partition: 1, key: null, value: '{"n":3}' },
      { partition: 1, key: 'user-4', value: null },
      { partition: 1, key: 'user-5', value: '{"n":5}' },
    ]);
    const deadline = Date.now() + 30_000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(received).toHaveLength(1);
    // The handler has not returned: nothing is committed.
    expect(await committed('poller-shape')).toEqual({ 0: '-1', 1: '-1' });
    release();
    await poller.untilCaughtUp();
  } finally {
    release();
    await poller.stop();
  }
  expect(await committed('poller-shape')).toEqual({ 0: String(before[0]! + 2), 1: String(before[1]! + 3) });
  expect(received.every((e) => allRecords([e]).length <= 3)).toBe(true);
  expect(poller.counters).toEqual({
    batches: received.length,
    records: 5,
    invocations: received.length,
    failures: 0,
    onFailureBatches: 0,
    redelivered: 0,
    retried: 0,
    handlerMs: expect.any(Number),
    failedDeliveries: 0,
  });
  for (const event of received) {
    expect({ ...event, records: undefined }).toEqual({
      eventSource: 'aws:kafka',
      eventSourceArn:
        'arn:aws:kafka:us-east-1:000000000000:cluster/local/00000000-0000-0000-0000-000000000000-1',
      bootstrapServers: bootstrap(),
      records: undefined,
    });
    for (const [key, list] of Object.entries(event.records)) {
      expect(list.every((r) => `${r.topic}-${r.partition}` === key)).toBe(true);
      expect(list.map((r) => r.offset)).toEqual([...list.map((r) => r.offset)].sort((a, b) => a - b));
    }
  }
  const records = allRecords(received).sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  expect(records.map(({ timestamp, ...rest }) => ({ ...rest, timestamp: typeof timestamp }))).toEqual([
    {
      topic: SOURCE,
      partition: 0,
      offset: before[0]!,
      timestampType: 'CREATE_TIME',
      timestamp: 'number',
      key: b64('user-1'),
      value: b64('{"n":1}'),
      headers: [{ trace: [...Buffer.from('t-1')] }],
    },
    {
      topic: SOURCE,
      partition: 0,
      offset: before[0]! + 1,
      timestampType: 'CREATE_TIME',
      timestamp: 'number',
      key: b64('user-2'),
      value: b64('{"n":2}'),
      headers: [],
    },
    {
      topic: SOURCE,
      partition: 1,
      offset: before[1]!,
      timestampType: 'CREATE_TIME',
      timestamp: 'number',
      key: null,
      value: b64('{"n":3}'),
      headers: [],
    },
    {
      topic: SOURCE,
      partition: 1,
      offset: before[1]! + 1,
      timestampType: 'CREATE_TIME',
      timestamp: 'number',
      key: b64('user-4'),
      value: null,
      headers: [],
    },
    {
      topic: SOURCE,
      partition: 1,
      offset: before[1]! + 2,
      timestampType: 'CREATE_TIME',
      timestamp: 'number',
      key: b64('user-5'),
      value: b64('{"n":5}'),
      headers: [],
    },
  ]);
});

test('while an invocation runs the poller reads on and gathers the next batch; it goes once the invocation returned, then both are committed', async () => {
  const groupId = 'poller-read-ahead';
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const received: MSKEvent[] = [];
  const poller = new EventSourcePoller({
    topic: READ_AHEAD,
    groupId,
    batchSize: 10,
    maximumBatchingWindowMs: 200,
    retryAttempts: 0,
    handler: async (event) => {
      received.push(event);
      if (received.length === 1) await gate;
    },
  });
  const until = async (what: string, done: () => boolean): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const commits = async (): Promise<Record<number, string>> => {
    const [topic] = await admin.fetchOffsets({ groupId, topics: [READ_AHEAD] });
    return Object.fromEntries((topic?.partitions ?? []).map((p) => [p.partition, p.offset]));
  };
  await poller.start();
  try {
    await produce([{ partition: 0, key: 'user-1', value: '{"n":1}' }], READ_AHEAD);
    await until('the first invocation', () => received.length === 1);
    // The first invocation has not returned: the next records are read and gathered, not delivered.
    await produce(
      [
        { partition: 0, key: 'user-2', value: '{"n":2}' },
        { partition: 1, key: 'user-3', value: '{"n":3}' },
      ],
      READ_AHEAD,
    );
    await until('the next records gathered', () => poller.gathered === 2);
    expect(received).toHaveLength(1);
    expect(await commits()).toEqual({ 0: '-1', 1: '-1' });
    release();
    await poller.untilCaughtUp();
  } finally {
    release();
    await poller.stop();
  }
  expect(
    received.map((e) =>
      allRecords([e])
        .map((r) => [r.partition, r.offset])
        .sort((a, b) => a[0]! - b[0]!),
    ),
  ).toEqual([
    [[0, 0]],
    [
      [0, 1],
      [1, 0],
    ],
  ]);
  expect(await commits()).toEqual({ 0: '2', 1: '1' });
  expect(poller.gathered).toBe(0);
});

test('a batch that keeps failing is invoked 1 + retryAttempts times, then written to the on-failure topic in Lambda format, committed, and can be replayed', async () => {
  const groupId = 'poller-failing';
  const start = await endOffsets();
  const failing = new EventSourcePoller({
    topic: SOURCE,
    groupId,
    batchSize: 10,
    maximumBatchingWindowMs: 200,
    retryAttempts: 2,
    retryDelayMs: 50,
    onFailureTopic: ON_FAILURE,
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:enrich',
    handler: () => Promise.reject(new Error('OpenSearch down')),
  });
  // Start past what the first test left on the topic.
  await admin.setOffsets({
    groupId,
    topic: SOURCE,
    partitions: [0, 1].map((p) => ({ partition: p, offset: String(start[p]) })),
  });
  await failing.start();
  try {
    await produce([{ partition: 1, key: 'user-9', value: '{"n":9}', headers: { trace: 't-9' } }]);
    await failing.untilCaughtUp();
  } finally {
    await failing.stop();
  }
  expect(failing.counters).toEqual({
    batches: 1,
    records: 1,
    invocations: 3,
    failures: 3,
    onFailureBatches: 1,
    redelivered: 0,
    retried: 2,
    handlerMs: expect.any(Number),
    failedDeliveries: 0,
  });

  const [message] = await consumeRecords(ON_FAILURE, 1);
  expect(message!.key).toBe('user-9');
  expect(message!.headers).toEqual({});
  const value = JSON.parse(message!.value!) as OnFailureValue;
  const original = failing.events[0]!.records[`${SOURCE}-1`]![0]!;
  const payload = {
    bootstrapServers: bootstrap(),
    eventSource: 'aws:kafka',
    eventSourceArn:
      'arn:aws:kafka:us-east-1:000000000000:cluster/local/00000000-0000-0000-0000-000000000000-1',
    records: {
      [`${SOURCE}-1`]: [
        {
          topic: SOURCE,
          partition: 1,
          offset: start[1]!,
          timestamp: original.timestamp,
          timestampType: 'CREATE_TIME',
          key: b64('user-9'),
          value: b64('{"n":9}'),
          headers: [{ trace: [...Buffer.from('t-9')] }],
        },
      ],
    },
  };
  expect(value).toEqual({
    requestContext: {
      requestId: value.requestContext.requestId,
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:enrich',
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: value.timestamp,
    KafkaBatchInfo: {
      batchSize: 1,
      eventSourceArn: payload.eventSourceArn,
      bootstrapServers: bootstrap(),
      payloadSize: Buffer.byteLength(JSON.stringify(value.payload)),
      recordInfo: { offset: String(start[1]), timestamp: new Date(original.timestamp).toISOString() },
    },
    payload,
  });
  expect(value.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
  expect(Date.parse(value.timestamp)).toBeGreaterThanOrEqual(original.timestamp);

  // Replay: the original record goes back to its source topic, and the same group now takes it.
  const replay = recordsToReplay(message!.value!);
  expect(replay).toEqual([
    {
      topic: SOURCE,
      partition: 1,
      offset: start[1]!,
      key: Buffer.from('user-9'),
      value: Buffer.from('{"n":9}'),
      headers: [{ name: 'trace', value: Buffer.from('t-9') }],
    },
  ]);
  const received: MSKEvent[] = [];
  const healed = new EventSourcePoller({
    topic: SOURCE,
    groupId,
    batchSize: 10,
    maximumBatchingWindowMs: 200,
    retryAttempts: 2,
    onFailureTopic: ON_FAILURE,
    handler: (event) => (received.push(event), Promise.resolve()),
  });
  await healed.start();
  try {
    await produce(
      replay.map((r) => ({
        partition: r.partition,
        key: r.key!.toString(),
        value: r.value!.toString(),
        headers: Object.fromEntries(r.headers.map((h) => [h.name, h.value.toString()])),
      })),
    );
    await healed.untilCaughtUp();
  } finally {
    await healed.stop();
  }
  expect(allRecords(received).map((r) => ({ ...r, timestamp: typeof r.timestamp }))).toEqual([
    {
      topic: SOURCE,
      partition: 1,
      offset: start[1]! + 1,
      timestamp: 'number',
      timestampType: 'CREATE_TIME',
      key: b64('user-9'),
      value: b64('{"n":9}'),
      headers: [{ trace: [...Buffer.from('t-9')] }],
    },
  ]);
  expect(healed.counters.onFailureBatches).toBe(0);
});
