/**
 * The pure parts of `dlq replay` and `topics diff` (tools/ops): telling the three dead-letter shapes
 * apart and what each sends back, the token bucket on a hand-driven clock, the dead-letter routes
 * of the catalog, and the topic diff with its rendering.
 */
import { onFailureRecords } from '../../lambda/shared/consumer/on-failure';
import { toEventHeaders } from '../../lambda/shared/consumer/msk-event';
import { deadLetterMessage } from '../../lambda/shared/consumer/runtime';
import { topicName } from '../../lib/topics/topic-specs';
import { headerList, planReplay, type DeadLetterRecord, type Header } from '../../tools/ops/dlq-shapes';
import { loadOpsEnvironment } from '../../tools/ops/environment';
import { deadLetterRoute, printable, replayGroupId } from '../../tools/ops/replay';
import { TokenBucket, type Clock } from '../../tools/ops/token-bucket';
import {
  catalogTopics,
  diffTopics,
  renderTopicsDiff,
  type LiveTopicState,
} from '../../tools/ops/topics-diff';

const EVENTS_USER = topicName('eventsUser');
const CDC_ORDERS = topicName('cdcOrders');
const EVENTS_AGGREGATES = topicName('eventsAggregates');

const h = (name: string, value: string): Header => ({ name, value: Buffer.from(value) });
const text = (headers: readonly Header[]) => headers.map((x) => [x.name, x.value.toString()]);

function record(parts: Partial<DeadLetterRecord>): DeadLetterRecord {
  return { partition: 0, offset: '0', key: null, value: null, headers: [], ...parts };
}

describe('planReplay: the three shapes', () => {
  test('1. dlq.* headers (the consumers own writer): the original bytes and headers back to the source', () => {
    const message = deadLetterMessage(
      {
        topic: EVENTS_USER,
        partition: 2,
        offset: 17,
        key: Buffer.from('user-1').toString('base64'),
        value: Buffer.from([0xff, 0x00, 0x7b]).toString('base64'),
        headers: toEventHeaders({ traceparent: '00-1', tenant: ['a', 'b'] }),
      },
      'invalid_json',
      'Unexpected token',
      'enrich',
      Date.parse('2026-11-25T06:33:57.123Z'),
    );
    const plan = planReplay(
      record({
        key: message.key as Buffer,
        value: message.value as Buffer,
        headers: headerList(message.headers),
      }),
    );
    if (plan.kind !== 'replay') throw new Error(plan.detail);
    expect({ ...plan, records: plan.records.map((r) => ({ ...r, headers: text(r.headers) })) }).toEqual({
      kind: 'replay',
      shape: 'dlq',
      reason: 'invalid_json',
      records: [
        {
          topic: EVENTS_USER,
          sourcePartition: 2,
          sourceOffset: '17',
          key: Buffer.from('user-1'),
          value: Buffer.from([0xff, 0x00, 0x7b]),
          headers: [
            ['traceparent', '00-1'],
            ['tenant', 'a'],
            ['tenant', 'b'],
          ],
        },
      ],
    });
  });

  test("2. Lambda's on-failure JSON: every record of its payload, bytes and headers as they were", () => {
    const [message] = onFailureRecords(
      {
        eventSource: 'aws:kafka',
        eventSourceArn: 'arn:aws:kafka:eu-west-1:111122223333:cluster/streaming-dev/x-1',
        bootstrapServers: 'b-1:9098',
        records: {
          [`${CDC_ORDERS}-1`]: [
            {
              topic: CDC_ORDERS,
              partition: 1,
              offset: 5,
              timestamp: 1_764_000_000_000,
              timestampType: 'CREATE_TIME',
              key: Buffer.from('{"id":7}').toString('base64'),
              value: null,
              headers: toEventHeaders({ 'dlq.reason': 'stale', origin: 'db' }),
            },
          ],
        },
      },
      {
        requestId: 'r-1',
        functionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:enrich',
        condition: 'RetriesExhausted',
        approximateInvokeCount: 11,
        at: 1_764_000_100_000,
      },
    );
    const plan = planReplay(record({ key: message!.key, value: Buffer.from(message!.value) }));
    if (plan.kind !== 'replay') throw new Error(plan.detail);
    expect({ ...plan, records: plan.records.map((r) => ({ ...r, headers: text(r.headers) })) }).toEqual({
      kind: 'replay',
      shape: 'lambda-on-failure',
      reason: 'RetriesExhausted',
      records: [
        {
          topic: CDC_ORDERS,
          sourcePartition: 1,
          sourceOffset: '5',
          key: Buffer.from('{"id":7}'),
          value: null,
          // A dead-letter header carried by the original record is left out too.
          headers: [['origin', 'db']],
        },
      ],
    });
  });

  test('3. Kafka Connect __connect.errors.* headers: the original record, context headers removed', () => {
    const plan = planReplay(
      record({
        key: Buffer.from('PT1M|w'),
        value: Buffer.from('{"version":1'),
        headers: [
          h('traceparent', '00-9'),
          h('__connect.errors.topic', EVENTS_AGGREGATES),
          h('__connect.errors.partition', '4'),
          h('__connect.errors.offset', '1234567890123'),
          h('__connect.errors.connector.name', 'streaming-prod-warehouse-sink'),
          h('__connect.errors.task.id', '2'),
          h('__connect.errors.stage', 'VALUE_CONVERTER'),
          h('__connect.errors.class.name', 'org.apache.kafka.connect.json.JsonConverter'),
          h('__connect.errors.exception.class.name', 'org.apache.kafka.connect.errors.DataException'),
          h('__connect.errors.exception.message', 'Converting byte[] to Kafka Connect data failed'),
          h('__connect.errors.exception.stacktrace', 'org.apache...\n\tat ...'),
        ],
      }),
    );
    if (plan.kind !== 'replay') throw new Error(plan.detail);
    expect({ ...plan, records: plan.records.map((r) => ({ ...r, headers: text(r.headers) })) }).toEqual({
      kind: 'replay',
      shape: 'connect',
      reason: 'org.apache.kafka.connect.errors.DataException',
      records: [
        {
          topic: EVENTS_AGGREGATES,
          sourcePartition: 4,
          sourceOffset: '1234567890123',
          key: Buffer.from('PT1M|w'),
          value: Buffer.from('{"version":1'),
          headers: [['traceparent', '00-9']],
        },
      ],
    });
  });

  test.each([
    [
      'both writers headers',
      record({ headers: [h('dlq.source.topic', EVENTS_USER), h('__connect.errors.topic', EVENTS_USER)] }),
      'carries both dlq.source.topic and __connect.errors.topic: which writer it came from is ambiguous',
    ],
    [
      'an empty source topic',
      record({ headers: [h('dlq.source.topic', '')] }),
      'an empty source topic header',
    ],
    ['a tombstone without headers', record({}), 'no dead-letter headers and no value (a tombstone)'],
    [
      'JSON of another kind',
      record({ value: Buffer.from('{"eventId":"e-1"}') }),
      "no dlq.source.topic or __connect.errors.topic header and the value is not Lambda's on-failure JSON",
    ],
    [
      'bytes that are not JSON',
      record({ value: Buffer.from([0xde, 0xad]) }),
      "no dlq.source.topic or __connect.errors.topic header and the value is not Lambda's on-failure JSON",
    ],
    [
      "Lambda's JSON without records",
      record({
        value: Buffer.from(
          JSON.stringify({ requestContext: {}, KafkaBatchInfo: {}, payload: { records: {} } }),
        ),
      }),
      "Lambda's on-failure JSON without records in its payload",
    ],
  ])('unrecognised: %s', (_name, dead, detail) => {
    expect(planReplay(dead)).toEqual({ kind: 'unrecognised', detail });
  });

  test('source partition and offset that are not numbers are left out (the key decides the partition)', () => {
    const plan = planReplay(
      record({
        key: Buffer.from('k'),
        value: Buffer.from('v'),
        headers: [
          h('dlq.source.topic', EVENTS_USER),
          h('dlq.source.partition', 'two'),
          h('dlq.source.offset', '-1'),
        ],
      }),
    );
    expect(plan).toEqual({
      kind: 'replay',
      shape: 'dlq',
      records: [{ topic: EVENTS_USER, key: Buffer.from('k'), value: Buffer.from('v'), headers: [] }],
    });
  });
});

describe('dead-letter routes', () => {
  test('each owner: its dead-letter topic and the sources a replay may write to, from the catalog', () => {
    expect(
      ['enrich', 'aggregate', 'sessionize', 'alerting', 'snowflake-sink'].map((o) => [
        o,
        deadLetterRoute(o),
        replayGroupId(deadLetterRoute(o).topic),
      ]),
    ).toEqual([
      ['enrich', { topic: 'dlq.enrich', sources: ['events.user', 'cdc.orders'] }, 'ops-replay-dlq.enrich'],
      ['aggregate', { topic: 'dlq.aggregate', sources: ['events.enriched'] }, 'ops-replay-dlq.aggregate'],
      ['sessionize', { topic: 'dlq.sessionize', sources: ['telemetry.raw'] }, 'ops-replay-dlq.sessionize'],
      ['alerting', { topic: 'dlq.alerting', sources: ['telemetry.alerts'] }, 'ops-replay-dlq.alerting'],
      [
        'snowflake-sink',
        { topic: 'dlq.snowflake-sink', sources: ['events.aggregates'] },
        'ops-replay-dlq.snowflake-sink',
      ],
    ]);
    expect(() => deadLetterRoute('ingest')).toThrow('no dead-letter topic in the catalog for "ingest"');
  });

  test('keys print as text when printable, else base64, cut to 64 characters', () => {
    expect(printable(null)).toBe('(none)');
    expect(printable(Buffer.from('user-7'))).toBe('user-7');
    expect(printable(Buffer.from([0xff, 0x01]))).toBe('base64:/wE=');
    expect(printable(Buffer.from('a\nb'))).toBe('base64:YQpi');
    expect(printable(Buffer.from('x'.repeat(80)))).toBe(`${'x'.repeat(61)}...`);
  });
});

class ManualClock implements Clock {
  public t = 0;
  public readonly sleeps: number[] = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
    return Promise.resolve();
  }
}

describe('TokenBucket', () => {
  test('starts full (one second of tokens), then one token per 1/rate s', async () => {
    const clock = new ManualClock();
    const bucket = TokenBucket.perSecond(4, clock);
    const grants: [number, number][] = [];
    let left = 10;
    while (left > 0) {
      const n = await bucket.take(left);
      grants.push([clock.now(), n]);
      left -= n;
    }
    expect(grants).toEqual([
      [0, 4],
      [250, 1],
      [500, 1],
      [750, 1],
      [1000, 1],
      [1250, 1],
      [1500, 1],
    ]);
  });

  test('time that passed without taking refills up to the capacity, no further', async () => {
    const clock = new ManualClock();
    const bucket = TokenBucket.perSecond(10, clock);
    expect(await bucket.take(10)).toBe(10);
    clock.t += 500;
    expect(await bucket.take(10)).toBe(5);
    clock.t += 60_000;
    expect(await bucket.take(100)).toBe(10);
    expect(clock.sleeps).toEqual([]);
  });

  test('a rate below one per second: a bucket of one token, waits of 1/rate s', async () => {
    const clock = new ManualClock();
    const bucket = TokenBucket.perSecond(0.5, clock);
    expect(bucket.capacity).toBe(1);
    expect(await bucket.take(3)).toBe(1);
    expect(await bucket.take(3)).toBe(1);
    expect(clock.sleeps).toEqual([2000]);
  });

  test('bad arguments are refused', () => {
    expect(() => new TokenBucket(0, 1, new ManualClock())).toThrow('rate must be > 0 (got 0)');
    expect(() => new TokenBucket(1, 0, new ManualClock())).toThrow('capacity must be >= 1 (got 0)');
  });
});

describe('topics diff', () => {
  const config = loadOpsEnvironment({ env: 'dev' });
  const catalog = catalogTopics(config);
  /** Each catalog topic exactly as the catalog creates it (configs set on the topic). */
  const asCreated = (): LiveTopicState[] =>
    catalog.map((t) => ({
      name: t.name,
      partitions: t.partitions,
      replicationFactors: Array.from({ length: t.partitions }, () => t.replicationFactor),
      configs: { ...t.configs, 'segment.bytes': '1073741824' },
      topicConfigKeys: Object.keys(t.configs).sort(),
    }));
  const replace = (live: LiveTopicState[], name: string, change: Partial<LiveTopicState>) =>
    live.map((t) => (t.name === name ? { ...t, ...change } : t));

  test('the catalog of dev: 13 topics with the settings the templates carry', () => {
    expect(catalog.find((t) => t.name === 'dlq.enrich')).toEqual({
      name: 'dlq.enrich',
      partitions: 3,
      replicationFactor: 2,
      configs: {
        'cleanup.policy': 'delete',
        'compression.type': 'producer',
        'max.message.bytes': '1310720',
        'min.insync.replicas': '1',
        'retention.bytes': '-1',
        'retention.ms': '259200000',
      },
    });
    expect(catalog).toHaveLength(13);
  });

  test('as created: no drift; broker defaults the catalog does not set are not drift', () => {
    const diff = diffTopics(catalog, asCreated());
    expect(diff.drifted).toEqual([]);
    expect(renderTopicsDiff('dev', diff)).toEqual([
      'topics diff dev: 13 catalog topics',
      'no drift: 13 of 13 topics match the catalog',
    ]);
  });

  test('a live value equal to the catalog through the broker default is not drift; cleanup.policy order does not matter', () => {
    const live = replace(asCreated(), CDC_ORDERS, {
      configs: { ...catalog[1]!.configs, 'cleanup.policy': 'compact' },
      topicConfigKeys: Object.keys(catalog[1]!.configs).filter((k) => k !== 'compression.type'),
    });
    expect(diffTopics(catalog, live).drifted).toEqual([]);
    const both = catalogTopics(
      loadOpsEnvironment({ env: 'dev', 'topics.events.user.cleanupPolicy': 'compact,delete' }),
    );
    const liveBoth = replace(asCreated(), EVENTS_USER, {
      configs: { ...both[0]!.configs, 'cleanup.policy': 'delete,compact' },
    });
    expect(diffTopics(both, liveBoth).drifted).toEqual([]);
  });

  test('every kind of drift, rendered; topics outside the catalog listed apart', () => {
    let live = asCreated().filter((t) => t.name !== 'dlq.alerting');
    live = replace(live, EVENTS_USER, {
      partitions: 6,
      replicationFactors: [2, 2, 2, 1, 1, 1],
      configs: { ...catalog[0]!.configs, 'retention.ms': '86400000', 'segment.ms': '600000' },
      topicConfigKeys: [...Object.keys(catalog[0]!.configs), 'segment.ms'].sort(),
    });
    live = replace(live, EVENTS_AGGREGATES, {
      configs: { ...catalog[6]!.configs, 'delete.retention.ms': '86400000', 'min.insync.replicas': '2' },
    });
    live.push(
      {
        name: '__consumer_offsets',
        partitions: 50,
        replicationFactors: [3],
        configs: {},
        topicConfigKeys: [],
      },
      {
        name: '__amazon_msk_connect_status_x',
        partitions: 1,
        replicationFactors: [3],
        configs: {},
        topicConfigKeys: [],
      },
      { name: 'connect-configs', partitions: 1, replicationFactors: [3], configs: {}, topicConfigKeys: [] },
      { name: 'legacy.clicks', partitions: 1, replicationFactors: [3], configs: {}, topicConfigKeys: [] },
    );
    expect(renderTopicsDiff('dev', diffTopics(catalog, live))).toEqual([
      'topics diff dev: 13 catalog topics',
      '~ events.user',
      '    partitions: catalog 3, live 6',
      '    replication factor: catalog 2, live 1/2',
      '    retention.ms: catalog 259200000, live 86400000',
      '    segment.ms: catalog (not set), live 600000',
      '~ events.aggregates',
      '    min.insync.replicas: catalog 1, live 2',
      '- dlq.alerting: missing on the cluster',
      '? legacy.clicks: not in the catalog (not drift)',
      'drift: 3 of 13 topics differ from the catalog',
    ]);
  });
});
