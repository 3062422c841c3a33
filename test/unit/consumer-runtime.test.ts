/**
 * The consumer runtime (lambda/shared/consumer/runtime.ts) with a fake producer, clock and sleep:
 * dead-letter records whole, partitions in offset order, retries inside the budget, then a failed
 * batch.
 */
import type { Producer } from 'kafkajs';
import { z } from 'zod';
import {
  BatchFailedError,
  createMskHandler,
  positiveSeconds,
  required,
  seconds,
  type RuntimeLogger,
  type RuntimeMetrics,
} from '../../lambda/shared/consumer/runtime';
import type { MSKEvent, MSKRecord } from '../../lambda/shared/consumer/msk-event';
import type { ConsumerDefinition, PartitionContext, SourceRecord } from '../../lambda/shared/consumer/types';
import { topicName } from '../../lib/topics/topic-specs';

const SOURCE = topicName('eventsUser');
const OTHER_SOURCE = topicName('cdcOrders');
const DLQ = topicName('dlqEnrich');
const NOW = Date.parse('2026-11-25T06:33:57.123Z');

const schema = z.object({ eventId: z.string(), n: z.number() });

interface Sent {
  topic: string;
  messages: { key?: Buffer | string | null; value: Buffer | string | null; headers?: unknown }[];
}

function fakeProducer(failFirst = 0): { producer: () => Promise<Producer>; sent: Sent[] } {
  const sent: Sent[] = [];
  let failures = failFirst;
  const producer = {
    send: (request: Sent) => {
      if (failures > 0) {
        failures--;
        return Promise.reject(new Error('broker unavailable'));
      }
      sent.push({ topic: request.topic, messages: request.messages });
      return Promise.resolve([]);
    },
  } as unknown as Producer;
  return { producer: () => Promise.resolve(producer), sent };
}

function fakeMetrics(): { metrics: RuntimeMetrics; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  const add = (name: string, value: number) => {
    counts[name] = (counts[name] ?? 0) + value;
  };
  const metrics: RuntimeMetrics = {
    addMetric: (name, _unit, value) => add(name, value),
    singleMetric: () => {
      const dims: string[] = [];
      return {
        addDimension: (name: string, value: string) => dims.push(`${name}=${value}`),
        addMetric: (name: string, _unit: unknown, value: number) => add([name, ...dims].join('|'), value),
      };
    },
    setDefaultDimensions: () => undefined,
    publishStoredMetrics: () => undefined,
  };
  return { metrics, counts };
}

const quietLogger: RuntimeLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

function record(
  partition: number,
  offset: number,
  value: Buffer | string | null,
  options: { key?: string | null; headers?: Record<string, number[]>[]; topic?: string } = {},
): MSKRecord {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return {
    topic: options.topic ?? SOURCE,
    partition,
    offset,
    timestamp: NOW - 1000,
    timestampType: 'CREATE_TIME',
    key: options.key === undefined ? Buffer.from(`user-${offset}`).toString('base64') : options.key,
    value: bytes === null ? null : bytes.toString('base64'),
    headers: options.headers ?? [],
  };
}

function eventOf(...records: MSKRecord[]): MSKEvent {
  const grouped: Record<string, MSKRecord[]> = {};
  for (const r of records) (grouped[`${r.topic}-${r.partition}`] ??= []).push(r);
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: 'arn:aws:kafka:us-east-1:123456789012:cluster/test/abc',
    bootstrapServers: 'b-1:9098',
    records: grouped,
  };
}

const ok = (eventId: string, n: number) => JSON.stringify({ eventId, n });

interface Harness {
  handler: (event: MSKEvent) => Promise<void>;
  sent: Sent[];
  counts: Record<string, number>;
  applied: { partition: number; offsets: number[] }[];
  sleeps: number[];
}

function harness(
  options: {
    apply?: (records: readonly SourceRecord<unknown>[], context: PartitionContext) => Promise<void>;
    tombstones?: boolean;
    maxValueBytes?: number;
    retryBudgetMs?: number;
    producerFailures?: number;
  } = {},
): Harness {
  const { producer, sent } = fakeProducer(options.producerFailures);
  const { metrics, counts } = fakeMetrics();
  const applied: { partition: number; offsets: number[] }[] = [];
  const sleeps: number[] = [];
  let clock = NOW;
  const definition: ConsumerDefinition = {
    name: 'enrich',
    deadLetterTopic: DLQ,
    sources: {
      [SOURCE]: {
        schema,
        maxValueBytes: options.maxValueBytes ?? 1024,
        tombstones: options.tombstones ?? false,
      },
      [OTHER_SOURCE]: { schema, maxValueBytes: 1024, tombstones: true },
    },
    apply: async (records, context) => {
      applied.push({ partition: records[0]!.partition, offsets: records.map((r) => r.offset) });
      if (options.apply) await options.apply(records, context);
    },
  };
  const handler = createMskHandler(definition, {
    producer,
    retryBudgetMs: options.retryBudgetMs ?? 1_000,
    now: () => clock,
    logger: quietLogger,
    metrics,
    random: () => 0.5,
    sleep: (ms) => {
      sleeps.push(ms);
      clock += ms;
      return Promise.resolve();
    },
  });
  return { handler: (event) => handler(event), sent, counts, applied, sleeps };
}

function dlqHeaders(
  reason: string,
  detail: string,
  partition: number,
  offset: number,
): Record<string, string> {
  return {
    'dlq.reason': reason,
    'dlq.detail': detail,
    'dlq.source.topic': SOURCE,
    'dlq.source.partition': String(partition),
    'dlq.source.offset': String(offset),
    'dlq.consumer': 'enrich',
    'dlq.at': '2026-11-25T06:33:57.123Z',
  };
}

describe('dead-lettering', () => {
  test('a value that is not JSON goes to the dead-letter topic with its key, value bytes and headers untouched', async () => {
    const notJson = Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x22]);
    const h = harness();
    const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const consoleLog = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    await h.handler(
      eventOf(
        record(0, 7, notJson, {
          key: 'a2V5LTc=',
          headers: [{ trace: [1, 2, 3] }, { trace: [4] }, { 'dlq.reason': [120] }],
        }),
        record(0, 8, ok('e8', 8)),
      ),
    );
    expect(h.sent).toEqual([
      {
        topic: DLQ,
        messages: [
          {
            key: Buffer.from('key-7'),
            value: notJson,
            headers: {
              trace: [Buffer.from([1, 2, 3]), Buffer.from([4])],
              ...dlqHeaders('invalid_json', 'the value is not JSON', 0, 7),
            },
          },
        ],
      },
    ]);
    expect(h.applied).toEqual([{ partition: 0, offsets: [8] }]);
    expect(h.counts).toEqual({ RecordsReceived: 2, 'RecordsDeadLettered|reason=invalid_json': 1 });
    // The refused value is not written to the logs (Powertools' JSON deserializer would print it).
    const printed = [...consoleError.mock.calls, ...consoleLog.mock.calls].flat().map(String).join('\n');
    expect(printed).not.toContain(notJson.toString('base64'));
    consoleError.mockRestore();
    consoleLog.mockRestore();
  });

  test('a schema violation names the failing field; a record over the limit is refused unparsed', async () => {
    const h = harness({ maxValueBytes: 40 });
    const large = JSON.stringify({ eventId: 'e2', n: 2, pad: 'x'.repeat(20) });
    await h.handler(eventOf(record(0, 1, JSON.stringify({ eventId: 'e1' })), record(0, 2, large)));
    expect(h.sent).toEqual([
      {
        topic: DLQ,
        messages: [
          {
            key: Buffer.from('user-1'),
            value: Buffer.from(JSON.stringify({ eventId: 'e1' })),
            headers: dlqHeaders(
              'schema_violation',
              'n: Invalid input: expected number, received undefined',
              0,
              1,
            ),
          },
          {
            key: Buffer.from('user-2'),
            value: Buffer.from(large),
            headers: dlqHeaders(
              'too_large',
              `value of ${large.length} bytes, more than the limit of 40`,
              0,
              2,
            ),
          },
        ],
      },
    ]);
    expect(h.applied).toEqual([]);
  });

  test('a tombstone reaches a source that takes them as a null value, and is dead-lettered by one that does not', async () => {
    const seen: SourceRecord<unknown>[] = [];
    const h = harness({ apply: (records) => (seen.push(...records), Promise.resolve()) });
    await h.handler(eventOf(record(3, 4, null, { key: null }), record(0, 9, null, { topic: OTHER_SOURCE })));
    expect(seen).toEqual([
      {
        topic: OTHER_SOURCE,
        partition: 0,
        offset: 9,
        timestamp: NOW - 1000,
        key: 'user-9',
        value: null,
        headers: {},
      },
    ]);
    expect(h.sent).toEqual([
      {
        topic: DLQ,
        messages: [
          {
            key: null,
            value: null,
            headers: dlqHeaders('schema_violation', 'a null value (tombstone) is not accepted', 3, 4),
          },
        ],
      },
    ]);
  });

  test("a consumer's own refusal is dead-lettered as processing_error from the original bytes", async () => {
    const raw = '{"eventId":"e5",  "n": 5}';
    const h = harness({
      apply: (records, context) => context.deadLetter(records[0]!, 'order total is negative'),
    });
    await h.handler(eventOf(record(1, 5, raw)));
    expect(h.sent).toEqual([
      {
        topic: DLQ,
        messages: [
          {
            key: Buffer.from('user-5'),
            value: Buffer.from(raw),
            headers: { ...dlqHeaders('processing_error', 'order total is negative', 1, 5) },
          },
        ],
      },
    ]);
  });

  test('a failed dead-letter produce is retried like any transient failure: nothing is dropped', async () => {
    const h = harness({ producerFailures: 2 });
    await h.handler(eventOf(record(0, 1, 'nope'), record(0, 2, ok('e2', 2))));
    expect(h.sleeps).toEqual([50, 100]);
    expect(
      h.sent.map((s) => s.messages.map((m) => (m.headers as Record<string, string>)['dlq.source.offset'])),
    ).toEqual([['1']]);
    expect(h.applied).toEqual([{ partition: 0, offsets: [2] }]);
    expect(h.counts.PartitionRetries).toBe(2);
  });
});

describe('partitions', () => {
  test('records reach the consumer per topic-partition, each in offset order, with key, headers and value decoded', async () => {
    const seen: SourceRecord<unknown>[][] = [];
    const h = harness({ apply: (records) => (seen.push([...records]), Promise.resolve()) });
    await h.handler(
      eventOf(
        record(1, 12, ok('b', 2)),
        record(0, 5, ok('a', 1), { headers: [{ 'content-type': [...Buffer.from('application/json')] }] }),
        record(1, 10, ok('c', 3)),
        record(1, 11, ok('d', 4)),
      ),
    );
    const byPartition = Object.fromEntries(seen.map((list) => [list[0]!.partition, list]));
    expect(Object.keys(byPartition).sort()).toEqual(['0', '1']);
    expect(byPartition[1]!.map((r) => [r.offset, r.value])).toEqual([
      [10, { eventId: 'c', n: 3 }],
      [11, { eventId: 'd', n: 4 }],
      [12, { eventId: 'b', n: 2 }],
    ]);
    expect(byPartition[0]).toEqual([
      {
        topic: SOURCE,
        partition: 0,
        offset: 5,
        timestamp: NOW - 1000,
        key: 'user-5',
        value: { eventId: 'a', n: 1 },
        headers: { 'content-type': 'application/json' },
      },
    ]);
  });

  test("each partition's context gives its batch range: every record of the partition in the event, dead-lettered ones included", async () => {
    const ranges: Record<number, { first: number; last: number }> = {};
    const h = harness({
      apply: (records, context) => {
        ranges[records[0]!.partition] = context.range;
        return Promise.resolve();
      },
    });
    await h.handler(
      eventOf(
        record(1, 13, 'nope'),
        record(1, 10, ok('c', 3)),
        record(0, 5, ok('a', 1)),
        record(1, 9, JSON.stringify({ eventId: 'e9' })),
        record(1, 11, ok('d', 4)),
      ),
    );
    expect([...h.applied].sort((a, b) => a.partition - b.partition)).toEqual([
      { partition: 0, offsets: [5] },
      { partition: 1, offsets: [10, 11] },
    ]);
    expect(ranges).toEqual({ 0: { first: 5, last: 5 }, 1: { first: 9, last: 13 } });
  });

  test('a failing partition is retried with the same records (full-jitter backoff) until it succeeds', async () => {
    let failures = 2;
    const h = harness({
      apply: (records) => {
        if (records[0]!.partition === 0 && failures-- > 0) return Promise.reject(new Error('OpenSearch 503'));
        return Promise.resolve();
      },
    });
    await h.handler(eventOf(record(0, 1, ok('a', 1)), record(0, 2, ok('b', 2)), record(1, 1, ok('c', 3))));
    expect(h.applied.filter((a) => a.partition === 0)).toEqual([
      { partition: 0, offsets: [1, 2] },
      { partition: 0, offsets: [1, 2] },
      { partition: 0, offsets: [1, 2] },
    ]);
    expect(h.applied.filter((a) => a.partition === 1)).toEqual([{ partition: 1, offsets: [1] }]);
    // random 0.5 x min(10 s, 100 ms x 2^attempt)
    expect(h.sleeps).toEqual([50, 100]);
    expect(h.counts).toEqual({ RecordsReceived: 3, PartitionRetries: 2 });
  });

  test('a partition still failing when the retry budget is spent fails the invocation; the others complete', async () => {
    const h = harness({
      retryBudgetMs: 1_000,
      apply: (records) =>
        records[0]!.partition === 0 ? Promise.reject(new Error('DynamoDB throttled')) : Promise.resolve(),
    });
    const failure = h.handler(eventOf(record(0, 1, ok('a', 1)), record(1, 1, ok('b', 2))));
    await expect(failure).rejects.toThrow(BatchFailedError);
    await expect(failure).rejects.toThrow(
      `1 partition(s) failed after 1000 ms of retries: ${SOURCE}-0: DynamoDB throttled`,
    );
    // 50 + 100 + 200 + 400 = 750 ms waited; the next wait (800 ms) would pass the budget.
    expect(h.sleeps).toEqual([50, 100, 200, 400]);
    expect(h.applied.filter((a) => a.partition === 0)).toHaveLength(5);
    expect(h.applied.filter((a) => a.partition === 1)).toEqual([{ partition: 1, offsets: [1] }]);
    expect(h.counts).toEqual({ RecordsReceived: 2, PartitionRetries: 4, BatchFailures: 1 });
  });

  test('a topic the consumer does not read fails the invocation', async () => {
    const h = harness();
    await expect(
      h.handler(eventOf(record(0, 1, ok('a', 1), { topic: topicName('eventsEnriched') }))),
    ).rejects.toThrow(`the enrich consumer has no source "${topicName('eventsEnriched')}"`);
  });
});

describe('environment', () => {
  test('a lease or horizon of 0 seconds is refused; a lateness of 0 is accepted', () => {
    expect(() => positiveSeconds({ CLAIM_LEASE_SECONDS: '0' }, 'CLAIM_LEASE_SECONDS')).toThrow(
      'CLAIM_LEASE_SECONDS must be a positive whole number of seconds (got 0)',
    );
    expect(positiveSeconds({ CLAIM_LEASE_SECONDS: '30' }, 'CLAIM_LEASE_SECONDS')).toBe(30);
    expect(seconds({ ALLOWED_LATENESS_SECONDS: '0' }, 'ALLOWED_LATENESS_SECONDS')).toBe(0);
  });

  test('missing, fractional and negative values are refused', () => {
    expect(() => required({}, 'STATE_TABLE')).toThrow('environment variable STATE_TABLE is not set');
    expect(() => positiveSeconds({ X: '1.5' }, 'X')).toThrow('X must be a positive whole number');
    expect(() => seconds({ X: '-1' }, 'X')).toThrow('X must be a non-negative whole number');
  });
});
