/**
 * The ops CLI (tools/ops, docs/ops-cli.md) on the real local broker of global-setup.ts, run
 * in-process through `runOps` with `--bootstrap` (plaintext; MSK IAM cannot run here), plus one run
 * of the real entry point (`ts-node tools/ops/cli.ts`) for its exit code.
 *
 * The catalog topics are created as the templates create them (the dev streaming template's
 * `AWS::MSK::Topic` resources, decoded). The broker has one node, so the template and every command
 * use dev with `-c topics.<topic>.replicationFactor=1` for each catalog topic: the same resolution
 * the CDK app makes, with the override a one-node cluster needs.
 *
 * AWS side of `status`: RECORDED responses (test/engines/fixtures/ops/*.json, the JSON bodies the
 * MSK, Lambda, MSK Connect and Managed Flink APIs answer, as their API references document them),
 * served to the real SDK v3 clients of `SdkOpsAws` through a request handler, because nothing local
 * answers those control-plane APIs. The consumer lag itself is computed on the broker.
 *
 * Dead-letter shapes: (1) written by the consumers' own writer (`deadLetterMessage`,
 * lambda/shared/consumer/runtime.ts); (2) written by the event-source poller's on-failure
 * destination (the harness's stand-in for the mapping, `onFailureRecords` of
 * lambda/shared/consumer/on-failure.ts) after a handler kept failing; (3) written by a real Kafka
 * Connect 3.7.2 worker's dead-letter queue (test/engines/connect/pom.xml, harness/connect.ts): a
 * sink task (connect-file's FileStreamSinkConnector: the Snowflake connector's tasks need the
 * account, unreachable here) with the platform sink's converters and errors.* settings
 * (lib/warehouse/snowflake-config.ts) reads events.aggregates, and the worker itself dead-letters
 * the records its JsonConverter cannot read. Shape 3 has no hand-written records here any more: the
 * test that wrote the headers by hand added nothing the worker's records do not cover (the same
 * header names, and its one extra case, a source topic that is not the dead-letter topic's source,
 * now comes from a second, misrouted connector on the same worker); header variants the worker
 * never writes (missing or non-numeric partition and offset) are unit tests
 * (test/unit/ops-replay.test.ts).
 */
import { HttpResponse, type HttpRequest } from '@smithy/protocol-http';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { ConfigResourceTypes, type Admin, type IHeaders, type Message } from 'kafkajs';
import { SECRETS_MANAGER_CONFIG_PROVIDER_CLASS, renderWorkerConfig } from '../../lib/cdc/debezium-config';
import { consumerGroupId } from '../../lib/events/consumer-groups';
import { TOPIC_IDS, deadLetterSources, topicName } from '../../lib/topics/topic-specs';
import { renderSnowflakeSinkConfig, snowflakeSinkOptions } from '../../lib/warehouse/snowflake-config';
import { deadLetterMessage } from '../../lambda/shared/consumer/runtime';
import { toEventHeaders } from '../../lambda/shared/consumer/msk-event';
import { SdkOpsAws } from '../../tools/ops/aws';
import { runOps, type OpsDeps } from '../../tools/ops/cli';
import type { Clock } from '../../tools/ops/token-bucket';
import { configFor, synthEnvironment } from '../support/synth';
import { templateTopics, type TemplateTopic } from '../support/templates';
import { TEST_SNOWFLAKE_SECRET_NAME, withSnowflake } from '../support/warehouse';
import { LocalConnect } from './harness/connect';
import { EventSourcePoller } from './harness/event-source-poller';
import {
  bootstrap,
  connectAdmin,
  consumeRecords,
  createTemplateTopics,
  deleteTopicsAndWait,
  kafkaClient,
  topicSize,
  type ConsumedRecord,
} from './harness/clients';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(__dirname, 'fixtures', 'ops');

const EVENTS_USER = topicName('eventsUser');
const CDC_ORDERS = topicName('cdcOrders');
const EVENTS_ENRICHED = topicName('eventsEnriched');
const EVENTS_AGGREGATES = topicName('eventsAggregates');
const TELEMETRY_RAW = topicName('telemetryRaw');
const TELEMETRY_ALERTS = topicName('telemetryAlerts');
const DLQ_ENRICH = topicName('dlqEnrich');
const DLQ_AGGREGATE = topicName('dlqAggregate');
const DLQ_SESSIONIZE = topicName('dlqSessionize');
const DLQ_SNOWFLAKE = topicName('dlqSnowflakeSink');

/** The topics the snowflake-sink consumer reads: the catalog's sources of its dead-letter topic. */
const SNOWFLAKE_SINK_SOURCES = deadLetterSources('dlqSnowflakeSink').map((id) => topicName(id));

/** One broker: replication factor 1 for every catalog topic (a -c override, as the CDK app takes it). */
const RF1: Record<string, string> = Object.fromEntries(
  TOPIC_IDS.map((id) => [`topics.${topicName(id)}.replicationFactor`, '1']),
);
const CONTEXT_FLAGS = Object.entries({ env: 'dev', ...RF1 }).flatMap(([k, v]) => ['-c', `${k}=${v}`]);

// ---------------------------------------------------------------------------------------------
// Recorded AWS responses, served to the real SDK clients.

interface RecordedCall {
  readonly service: string;
  readonly call: string;
}

/** Answers the SDK's HTTP requests from the fixtures and records what was asked. */
class RecordedAws {
  public readonly calls: RecordedCall[] = [];

  handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
    const service = request.hostname.split('.')[0]!;
    const query = Object.entries(request.query ?? {})
      .map(([k, v]) => `${k}=${String(v)}`)
      .sort()
      .join('&');
    const path = decodeURIComponent(request.path);
    const target = request.headers['x-amz-target'];
    const call = `${request.method} ${target ?? path}${query ? `?${query}` : ''}`;
    this.calls.push({ service, call });
    const file = this.fixture(service, request.method, path, target, request.query ?? {});
    const body = readFileSync(join(FIXTURES, file));
    return Promise.resolve({
      response: new HttpResponse({
        statusCode: 200,
        headers: {
          'content-type': service === 'kinesisanalytics' ? 'application/x-amz-json-1.1' : 'application/json',
          'x-amzn-requestid': '00000000-0000-4000-8000-000000000000',
        },
        body: Readable.from([body]),
      }),
    });
  }

  private fixture(
    service: string,
    method: string,
    path: string,
    target: string | undefined,
    query: HttpRequest['query'],
  ): string {
    if (service === 'kafka' && method === 'GET') {
      if (path === '/api/v2/clusters') return 'kafka-ListClustersV2.json';
      if (/^\/api\/v2\/clusters\/arn:/.test(path)) return 'kafka-DescribeClusterV2.json';
      if (path.endsWith('/bootstrap-brokers')) return 'kafka-GetBootstrapBrokers.json';
      if (path.endsWith('/nodes')) return 'kafka-ListNodes.json';
    }
    if (service === 'lambda' && path.startsWith('/2015-03-31/event-source-mappings'))
      return query.Marker ? 'lambda-ListEventSourceMappings-2.json' : 'lambda-ListEventSourceMappings-1.json';
    if (service === 'kafkaconnect' && method === 'GET') {
      if (path === '/v1/connectors') return 'kafkaconnect-ListConnectors.json';
      if (path.startsWith('/v1/connectors/arn:')) return 'kafkaconnect-DescribeConnector.json';
    }
    if (service === 'kinesisanalytics' && target) return `kinesisanalyticsv2-${target.split('.')[1]}.json`;
    throw new Error(`no recorded response for ${service} ${method} ${path} ${target ?? ''}`);
  }
}

// ---------------------------------------------------------------------------------------------

interface OpsRun {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
}

async function ops(argv: readonly string[], deps: Partial<OpsDeps> = {}): Promise<OpsRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOps(argv, {
    out: (l) => out.push(...l.split('\n')),
    err: (l) => err.push(l),
    env: {},
    ...deps,
  });
  return { code, out, err };
}

/** A clock that only moves when the replay sleeps: rate checks never depend on wall-clock time. */
class ManualClock implements Clock {
  public t = 0;
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    this.t += ms;
    return Promise.resolve();
  }
}

let admin: Admin;
let templates: TemplateTopic[];
const templateOf = (name: string): TemplateTopic => templates.find((t) => t.name === name)!;

/** Deletes the topics and creates them again exactly as the template does (empty). */
async function recreate(names: readonly string[]): Promise<void> {
  await deleteTopicsAndWait(admin, [...names]);
  await createTemplateTopics(admin, names.map(templateOf));
}

async function produce(topic: string, messages: Message[]): Promise<void> {
  const producer = kafkaClient('ops-test-producer').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** The records of a topic, ordered by partition and offset. */
async function readAll(topic: string): Promise<ConsumedRecord[]> {
  const count = await topicSize(admin, topic);
  if (count === 0) return [];
  const records = await consumeRecords(topic, count, { settleMs: 300 });
  return records.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
}

const plain = (r: ConsumedRecord) => ({ key: r.key, value: r.value, headers: r.headers });

const replay = (consumer: string, flags: readonly string[] = [], deps: Partial<OpsDeps> = {}) =>
  ops(['dlq', 'replay', consumer, ...CONTEXT_FLAGS, '--bootstrap', bootstrap(), ...flags], deps);

async function committed(groupId: string, topic: string): Promise<Record<number, string>> {
  const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return Object.fromEntries((fetched?.partitions ?? []).map((p) => [p.partition, p.offset]));
}

// ---------------------------------------------------------------------------------------------
// Kafka Connect's dead-letter queue, written by a real worker.

/** The converter and errors.* settings of the platform's sink that decide what it dead-letters. */
const SINK_ERROR_SETTINGS = [
  'key.converter',
  'value.converter',
  'value.converter.schemas.enable',
  'errors.tolerance',
  'errors.log.enable',
  'errors.log.include.messages',
  'errors.deadletterqueue.topic.name',
  'errors.deadletterqueue.context.headers.enable',
] as const;

const pick = (config: Readonly<Record<string, string>>, keys: readonly string[]) =>
  Object.fromEntries(keys.map((k) => [k, config[k]]));

/**
 * A FileStreamSinkConnector (connect-file, on the worker's class path) writing `topics` to `file`,
 * with the platform sink's converters and dead-letter queue: a record whose value is not JSON goes
 * to the snowflake-sink consumer's dead-letter topic with the context headers. The dead-letter
 * topic exists already (created from the template); replication factor 1 only in case it did not.
 */
function fileSinkConfig(topics: readonly string[], file: string): Record<string, string> {
  return {
    'connector.class': 'org.apache.kafka.connect.file.FileStreamSinkConnector',
    'tasks.max': '1',
    topics: topics.join(','),
    file,
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'value.converter.schemas.enable': 'false',
    'errors.tolerance': 'all',
    'errors.log.enable': 'true',
    'errors.log.include.messages': 'false',
    'errors.deadletterqueue.topic.name': DLQ_SNOWFLAKE,
    'errors.deadletterqueue.topic.replication.factor': '1',
    'errors.deadletterqueue.context.headers.enable': 'true',
  };
}

/** The worker configuration MSK Connect's carries, without the Secrets Manager provider (unused). */
const CONNECT_WORKER_CONFIG = Object.fromEntries(
  Object.entries(
    renderWorkerConfig({ secretsProvider: { className: SECRETS_MANAGER_CONFIG_PROVIDER_CLASS } }),
  ).filter(([key]) => !key.startsWith('config.providers')),
);

/** The message of the DataException Kafka Connect 3.7's JsonConverter throws on bytes that are not JSON. */
const CONVERTER_ERROR = 'Converting byte[] to Kafka Connect data failed due to serialization error: ';

async function waitUntil(
  what: string,
  done: () => Promise<boolean>,
  detail: () => string,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}\n${detail()}`);
}

/** A record as read, the value as bytes and the headers in record order (a repeated name once per value). */
interface RawRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: [string, string][];
}

/** Every record of a topic up to the end offsets it has now, ordered by partition and offset. */
async function readRaw(topic: string): Promise<RawRecord[]> {
  const ends = new Map(
    (await admin.fetchTopicOffsets(topic))
      .filter((p) => Number(p.high) > Number(p.low))
      .map((p) => [p.partition, Number(p.high)]),
  );
  const records: RawRecord[] = [];
  if (ends.size === 0) return records;
  const consumer = kafkaClient('ops-test-reader').consumer({ groupId: `ops-test-reader-${randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic} not read to its end within 30 s`)), 30_000);
      consumer
        .run({
          autoCommit: false,
          eachMessage: ({ partition, message }) => {
            records.push({
              partition,
              offset: message.offset,
              key: message.key?.toString() ?? null,
              value: message.value,
              headers: Object.entries(message.headers ?? {}).flatMap(([name, v]) =>
                (Array.isArray(v) ? v : [v]).map((x): [string, string] => [name, String(x ?? '')]),
              ),
            });
            if (Number(message.offset) + 1 >= (ends.get(partition) ?? Infinity)) ends.delete(partition);
            if (ends.size === 0) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
}

beforeAll(async () => {
  admin = await connectAdmin();
  templates = templateTopics(synthEnvironment('dev', RF1).streaming);
  await deleteTopicsAndWait(
    admin,
    templates.map((t) => t.name),
  );
  await createTemplateTopics(admin, templates);
});

afterAll(async () => {
  await deleteTopicsAndWait(admin, [
    ...templates.map((t) => t.name),
    'ops-test.scratch',
    'connect-opstest-status',
    '__amazon_msk_connect_offsets_opstest',
  ]);
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith('ops-'));
  if (groups.length > 0) await admin.deleteGroups(groups);
  await admin.disconnect();
});

describe('topics diff', () => {
  const diff = () => ops(['topics', 'diff', ...CONTEXT_FLAGS, '--bootstrap', bootstrap()]);

  test('the catalog topics as the templates create them: no drift, exit 0', async () => {
    expect(templates).toHaveLength(13);
    expect(await diff()).toEqual({
      code: 0,
      out: ['topics diff dev: 13 catalog topics', 'no drift: 13 of 13 topics match the catalog'],
      err: [],
    });
  });

  test('the real entry point (npm run ops) prints the same and exits 0', async () => {
    const run = promisify(execFile);
    const { stdout, stderr } = await run(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js'),
        '--transpile-only',
        join(ROOT, 'tools', 'ops', 'cli.ts'),
        'topics',
        'diff',
        ...CONTEXT_FLAGS,
        '--bootstrap',
        bootstrap(),
      ],
      { cwd: ROOT },
    );
    expect({ stdout, stderr }).toEqual({
      stdout: 'topics diff dev: 13 catalog topics\nno drift: 13 of 13 topics match the catalog\n',
      stderr: '',
    });
  });

  test('topics not in the catalog are listed, internal ones ignored; not drift', async () => {
    await admin.createTopics({
      topics: ['ops-test.scratch', 'connect-opstest-status', '__amazon_msk_connect_offsets_opstest'].map(
        (topic) => ({ topic, numPartitions: 1, replicationFactor: 1 }),
      ),
    });
    try {
      expect(await diff()).toEqual({
        code: 0,
        out: [
          'topics diff dev: 13 catalog topics',
          '? ops-test.scratch: not in the catalog (not drift)',
          'no drift: 13 of 13 topics match the catalog',
        ],
        err: [],
      });
    } finally {
      await deleteTopicsAndWait(admin, [
        'ops-test.scratch',
        'connect-opstest-status',
        '__amazon_msk_connect_offsets_opstest',
      ]);
    }
  });

  test('one config altered: exit 1 naming exactly that setting with both values', async () => {
    // AlterConfigs replaces a topic's whole config set: send the template's with one value changed.
    const configs = { ...templateOf(EVENTS_USER).configs, 'retention.ms': '3600000' };
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: EVENTS_USER,
          configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
        },
      ],
    });
    try {
      expect(await diff()).toEqual({
        code: 1,
        out: [
          'topics diff dev: 13 catalog topics',
          `~ ${EVENTS_USER}`,
          '    retention.ms: catalog 259200000, live 3600000',
          'drift: 1 of 13 topics differ from the catalog',
        ],
        err: [],
      });
    } finally {
      await recreate([EVENTS_USER]);
    }
  });

  test('a config set on the topic that the catalog does not set is drift', async () => {
    const configs = { ...templateOf(CDC_ORDERS).configs, 'segment.ms': '600000' };
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: CDC_ORDERS,
          configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
        },
      ],
    });
    try {
      expect(await diff()).toEqual({
        code: 1,
        out: [
          'topics diff dev: 13 catalog topics',
          `~ ${CDC_ORDERS}`,
          '    segment.ms: catalog (not set), live 600000',
          'drift: 1 of 13 topics differ from the catalog',
        ],
        err: [],
      });
    } finally {
      await recreate([CDC_ORDERS]);
    }
  });

  test('one topic deleted: exit 1 naming it missing', async () => {
    await deleteTopicsAndWait(admin, [DLQ_SESSIONIZE]);
    try {
      expect(await diff()).toEqual({
        code: 1,
        out: [
          'topics diff dev: 13 catalog topics',
          `- ${DLQ_SESSIONIZE}: missing on the cluster`,
          'drift: 1 of 13 topics differ from the catalog',
        ],
        err: [],
      });
    } finally {
      await createTemplateTopics(admin, [templateOf(DLQ_SESSIONIZE)]);
    }
  });

  test('partitions added: exit 1 with both counts', async () => {
    await admin.createPartitions({ topicPartitions: [{ topic: EVENTS_ENRICHED, count: 5 }] });
    try {
      expect(await diff()).toEqual({
        code: 1,
        out: [
          'topics diff dev: 13 catalog topics',
          `~ ${EVENTS_ENRICHED}`,
          '    partitions: catalog 3, live 5',
          'drift: 1 of 13 topics differ from the catalog',
        ],
        err: [],
      });
    } finally {
      await recreate([EVENTS_ENRICHED]);
    }
  });

  test('without the replication override, the one-node broker differs in every topic (exit 1)', async () => {
    const { code, out } = await ops(['topics', 'diff', '-c', 'env=dev', '--bootstrap', bootstrap()]);
    expect(code).toBe(1);
    expect(out.filter((l) => l.startsWith('    '))).toEqual(
      TOPIC_IDS.map(() => '    replication factor: catalog 2, live 1'),
    );
    expect(out[out.length - 1]).toBe('drift: 13 of 13 topics differ from the catalog');
  });
});

describe('status', () => {
  test('cluster, mappings, connectors and Flink from recorded AWS responses; lag computed on the broker', async () => {
    // enrich-events.user: 4 + 3 + 3 records, commits at 2 / 3 / 0, then 2 more on partition 1.
    await produce(EVENTS_USER, [
      ...[0, 1, 2, 3].map((i) => ({ partition: 0, key: `u-${i}`, value: `{"n":${i}}` })),
      ...[0, 1, 2].map((i) => ({ partition: 1, key: `v-${i}`, value: `{"n":${i}}` })),
      ...[0, 1, 2].map((i) => ({ partition: 2, key: `w-${i}`, value: `{"n":${i}}` })),
    ]);
    await admin.setOffsets({
      groupId: consumerGroupId('enrich', 'eventsUser'),
      topic: EVENTS_USER,
      partitions: [
        { partition: 0, offset: '2' },
        { partition: 1, offset: '3' },
        { partition: 2, offset: '0' },
      ],
    });
    await produce(EVENTS_USER, [
      { partition: 1, key: 'v-3', value: '{"n":3}' },
      { partition: 1, key: 'v-4', value: '{"n":4}' },
    ]);
    // enrich-cdc.orders: nothing committed, 2 records retained on partition 0.
    await produce(CDC_ORDERS, [
      { partition: 0, key: '{"id":1}', value: '{"id":1}' },
      { partition: 0, key: '{"id":2}', value: '{"id":2}' },
    ]);
    // alerting-telemetry.alerts: everything read (1 record, committed at 1 on partition 2).
    await produce(TELEMETRY_ALERTS, [{ partition: 2, key: 'dev-1', value: '{"alertId":"a-1"}' }]);
    await admin.setOffsets({
      groupId: consumerGroupId('alerting', 'telemetryAlerts'),
      topic: TELEMETRY_ALERTS,
      partitions: [0, 1, 2].map((partition) => ({ partition, offset: partition === 2 ? '1' : '0' })),
    });

    const recorded = new RecordedAws();
    const run = await ops(['status', ...CONTEXT_FLAGS, '--bootstrap', bootstrap(), '--region', 'eu-west-1'], {
      aws: (region) =>
        new SdkOpsAws({
          region,
          credentials: { accessKeyId: 'AKIDOPSFIXTURE', secretAccessKey: 'fixture-not-a-secret' },
          requestHandler: recorded,
        }),
    });
    expect(run).toEqual({
      code: 0,
      out: [
        'status dev (platform streaming, region eu-west-1)',
        'cluster streaming-dev: ACTIVE, Kafka 3.9.x.kraft, 2 brokers',
        '  arn arn:aws:kafka:eu-west-1:111122223333:cluster/streaming-dev/5a4f1c2e-9b7d-4e8a-b1c3-2d6e8f0a1b2c-4',
        '  broker 1: b-1.streamingdev.x1y2z3.c4.kafka.eu-west-1.amazonaws.com',
        '  broker 2: b-2.streamingdev.x1y2z3.c4.kafka.eu-west-1.amazonaws.com',
        '  bootstrap IAM:   b-1.streamingdev.x1y2z3.c4.kafka.eu-west-1.amazonaws.com:9098,b-2.streamingdev.x1y2z3.c4.kafka.eu-west-1.amazonaws.com:9098',
        '  bootstrap SCRAM: b-1.streamingdev.x1y2z3.c4.kafka.eu-west-1.amazonaws.com:9096,b-2.streamingdev.x1y2z3.c4.kafka.eu-west-1.amazonaws.com:9096',
        `kafka: ${bootstrap()} (plaintext, --bootstrap)`,
        'consumers (lag = end offsets - committed offsets of the group, per topic)',
        `  consumer   topic             group                      mapping   function                                                       lag`,
        `  enrich     ${EVENTS_USER}       enrich-events.user         Enabled   streaming-dev-events-EnrichConsumer3F1A2B4C-k8VZ1qTq0mXa       7`,
        `  enrich     ${CDC_ORDERS}        enrich-cdc.orders          Enabled   streaming-dev-events-EnrichConsumer3F1A2B4C-k8VZ1qTq0mXa       2 (3 of 3 partitions without a committed offset)`,
        `  aggregate  ${EVENTS_ENRICHED}   aggregate-events.enriched  Enabled   streaming-dev-events-AggregateConsumer9C8D7E6F-Q2wE4rT6yU8i    0 (3 of 3 partitions without a committed offset)`,
        `  alerting   ${TELEMETRY_ALERTS}  alerting-telemetry.alerts  Disabled  streaming-dev-telemetry-AlertingConsumer5B4A3C2D-Zx9Cv7Bn5Mm3  0`,
        'connectors',
        '  streaming-dev-orders-cdc  RUNNING  1 worker',
        'flink applications',
        '  streaming-dev-sessionize  RUNNING  version 4  FLINK-2_2',
      ],
      err: [],
    });
    // What was asked, in order: the cluster by its exact name (the filter matches prefixes), the
    // mappings on its ARN (two pages), the connectors and applications of the environment's prefix.
    const arn =
      'arn:aws:kafka:eu-west-1:111122223333:cluster/streaming-dev/5a4f1c2e-9b7d-4e8a-b1c3-2d6e8f0a1b2c-4';
    expect(recorded.calls).toEqual([
      { service: 'kafka', call: 'GET /api/v2/clusters?clusterNameFilter=streaming-dev' },
      { service: 'kafka', call: `GET /api/v2/clusters/${arn}` },
      { service: 'kafka', call: `GET /v1/clusters/${arn}/nodes` },
      { service: 'kafka', call: `GET /v1/clusters/${arn}/bootstrap-brokers` },
      { service: 'lambda', call: `GET /2015-03-31/event-source-mappings?EventSourceArn=${arn}` },
      {
        service: 'lambda',
        call: `GET /2015-03-31/event-source-mappings?EventSourceArn=${arn}&Marker=eyJtYXJrZXIiOiAiMiJ9`,
      },
      { service: 'kafkaconnect', call: 'GET /v1/connectors?connectorNamePrefix=streaming-dev-' },
      {
        service: 'kafkaconnect',
        call: 'GET /v1/connectors/arn:aws:kafkaconnect:eu-west-1:111122223333:connector/streaming-dev-orders-cdc/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9-3',
      },
      { service: 'kinesisanalytics', call: 'POST KinesisAnalytics_20180523.ListApplications' },
      { service: 'kinesisanalytics', call: 'POST KinesisAnalytics_20180523.DescribeApplication' },
    ]);
  });

  test('the recorded mappings are the catalog consumers: their topics and groups come from the catalog', () => {
    const mappings = [1, 2].flatMap(
      (page) =>
        (
          JSON.parse(readFileSync(join(FIXTURES, `lambda-ListEventSourceMappings-${page}.json`), 'utf8')) as {
            EventSourceMappings: {
              Topics: string[];
              AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: string };
            }[];
          }
        ).EventSourceMappings,
    );
    expect(mappings.map((m) => [m.Topics, m.AmazonManagedKafkaEventSourceConfig.ConsumerGroupId])).toEqual([
      [[EVENTS_USER], consumerGroupId('enrich', 'eventsUser')],
      [[CDC_ORDERS], consumerGroupId('enrich', 'cdcOrders')],
      [[EVENTS_ENRICHED], consumerGroupId('aggregate', 'eventsEnriched')],
      [[TELEMETRY_ALERTS], consumerGroupId('alerting', 'telemetryAlerts')],
    ]);
  });

  test('local engines: --bootstrap without a region asks no AWS API and still computes lag', async () => {
    const run = await ops(['status', ...CONTEXT_FLAGS, '--bootstrap', bootstrap()], {
      aws: () => {
        throw new Error('AWS must not be asked');
      },
    });
    expect(run.code).toBe(0);
    expect(run.out.slice(0, 4)).toEqual([
      'status dev (platform streaming)',
      'cluster: not asked (--bootstrap without a region: local engines)',
      `kafka: ${bootstrap()} (plaintext, --bootstrap)`,
      'consumers (lag = end offsets - committed offsets of the group, per topic)',
    ]);
    expect(run.out.slice(5, 9).map((l) => l.trim().split(/\s{2,}/))).toEqual([
      ['enrich', EVENTS_USER, 'enrich-events.user', '7'],
      ['enrich', CDC_ORDERS, 'enrich-cdc.orders', '2 (3 of 3 partitions without a committed offset)'],
      [
        'aggregate',
        EVENTS_ENRICHED,
        'aggregate-events.enriched',
        '0 (3 of 3 partitions without a committed offset)',
      ],
      ['alerting', TELEMETRY_ALERTS, 'alerting-telemetry.alerts', '0'],
    ]);
    expect(run.out[9]).toBe('connectors, flink applications: not asked');
  });
});

describe('dlq replay', () => {
  test('shape 1 (dlq.* headers, the consumers own writer): each record back to its source, key, value and headers as they were', async () => {
    await recreate([EVENTS_USER, CDC_ORDERS, EVENTS_ENRICHED, DLQ_ENRICH]);
    const raw = (
      topic: string,
      partition: number,
      offset: number,
      key: string,
      value: string,
      headers: IHeaders,
    ) => ({
      topic,
      partition,
      offset,
      key: Buffer.from(key).toString('base64'),
      value: Buffer.from(value).toString('base64'),
      headers: toEventHeaders(headers),
    });
    const at = Date.parse('2026-11-25T06:33:57.123Z');
    await produce(DLQ_ENRICH, [
      {
        ...deadLetterMessage(
          raw(EVENTS_USER, 1, 41, 'user-7', '{"eventId":"e-7"', { traceparent: '00-aa-bb-01' }),
          'invalid_json',
          'Unexpected end of JSON input',
          'enrich',
          at,
        ),
        partition: 0,
      },
      {
        ...deadLetterMessage(
          raw(CDC_ORDERS, 2, 9, '{"id":42}', '{"id":42,"status":"lost"}', {}),
          'schema_violation',
          'status: must be one of created, paid, shipped, cancelled, refunded',
          'enrich',
          at,
        ),
        partition: 0,
      },
      // Names a topic that is not a source of dlq.enrich: refused, nothing written anywhere.
      {
        ...deadLetterMessage(
          raw(EVENTS_ENRICHED, 0, 3, 'user-8', '{"eventId":"e-8"}', {}),
          'processing_error',
          'x',
          'enrich',
          at,
        ),
        partition: 0,
      },
      // No dead-letter headers and not Lambda's JSON: unrecognised, nothing written.
      { partition: 0, key: 'user-9', value: 'not json', headers: { traceparent: '00-cc-dd-01' } },
    ]);

    const run = await replay('enrich');
    expect(run).toEqual({
      code: 1,
      out: [
        `dlq replay enrich: ${DLQ_ENRICH} -> ${EVENTS_USER}, ${CDC_ORDERS}; group ops-replay-${DLQ_ENRICH}; 50 records/s; at least once`,
        `  to read: 4 dead-letter records (p0 0..4, p1 0..0, p2 0..0)`,
        `  ${DLQ_ENRICH} p0@0 dlq invalid_json -> ${EVENTS_USER} (from p1@41) key=user-7 headers=1`,
        `  ${DLQ_ENRICH} p0@1 dlq schema_violation -> ${CDC_ORDERS} (from p2@9) key={"id":42} headers=0`,
        `  ${DLQ_ENRICH} p0@2 refused: source topic ${EVENTS_ENRICHED} is not a source of ${DLQ_ENRICH} (allowed: ${EVENTS_USER}, ${CDC_ORDERS}); nothing written`,
        `  ${DLQ_ENRICH} p0@3 unrecognised: no dlq.source.topic or __connect.errors.topic header and the value is not Lambda's on-failure JSON; nothing written`,
        'replayed 2 records from 4 dead-letter records; refused 1, unrecognised 1',
        `committed ops-replay-${DLQ_ENRICH}: p0=4 p1=-1 p2=-1`,
      ],
      err: [],
    });
    expect((await readAll(EVENTS_USER)).map(plain)).toEqual([
      { key: 'user-7', value: '{"eventId":"e-7"', headers: { traceparent: '00-aa-bb-01' } },
    ]);
    expect((await readAll(CDC_ORDERS)).map(plain)).toEqual([
      { key: '{"id":42}', value: '{"id":42,"status":"lost"}', headers: {} },
    ]);
    expect(await topicSize(admin, EVENTS_ENRICHED)).toBe(0);
    expect(await committed(`ops-replay-${DLQ_ENRICH}`, DLQ_ENRICH)).toEqual({ 0: '4', 1: '-1', 2: '-1' });

    // Run again: nothing left, nothing sent.
    const again = await replay('enrich');
    expect(again.code).toBe(0);
    expect(again.out.slice(1)).toEqual([
      '  to read: 0 dead-letter records (p0 4..4, p1 0..0, p2 0..0)',
      'replayed 0 records from 0 dead-letter records; refused 0, unrecognised 0',
      `committed ops-replay-${DLQ_ENRICH}: p0=4 p1=-1 p2=-1`,
    ]);
    expect(await topicSize(admin, EVENTS_USER)).toBe(1);
  });

  test("shape 2 (Lambda's on-failure JSON, written by the poller after the handler kept failing): replayed to the source", async () => {
    await recreate([EVENTS_ENRICHED, DLQ_AGGREGATE]);
    const originals = [
      { key: 'user-1', value: '{"eventId":"e-1","orders":{}}', headers: { traceparent: '00-01' } },
      {
        key: 'user-2',
        value: '{"eventId":"e-2","orders":{}}',
        headers: { traceparent: '00-02', tenant: 'a' },
      },
    ];
    await produce(EVENTS_ENRICHED, originals);
    const poller = new EventSourcePoller({
      topic: EVENTS_ENRICHED,
      groupId: 'ops-test-aggregate-poller',
      batchSize: 10,
      maximumBatchingWindowMs: 100,
      retryAttempts: 1,
      retryDelayMs: 20,
      onFailureTopic: DLQ_AGGREGATE,
      functionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:aggregate',
      handler: () => Promise.reject(new Error('OpenSearch down')),
    });
    await poller.start();
    try {
      await poller.untilCaughtUp();
    } finally {
      await poller.stop();
    }
    expect(await topicSize(admin, DLQ_AGGREGATE)).toBe(2);

    const run = await replay('aggregate', ['--rate', '100']);
    expect(run.code).toBe(0);
    // Both keys hash to partition 2 of the source (kafkajs' Java-compatible murmur2, as Lambda's
    // on-failure records, keyed the same, land on partition 2 of the dead-letter topic).
    expect(run.out.filter((l) => l.startsWith(`  ${DLQ_AGGREGATE} `))).toEqual([
      `  ${DLQ_AGGREGATE} p2@0 lambda-on-failure RetriesExhausted -> ${EVENTS_ENRICHED} (from p2@0) key=user-1 headers=1`,
      `  ${DLQ_AGGREGATE} p2@1 lambda-on-failure RetriesExhausted -> ${EVENTS_ENRICHED} (from p2@1) key=user-2 headers=2`,
    ]);
    const after = await readAll(EVENTS_ENRICHED);
    // The originals, then their replayed copies (keyed: the key's partition again), byte for byte.
    const one = { key: 'user-1', value: '{"eventId":"e-1","orders":{}}', headers: { traceparent: '00-01' } };
    const two = {
      key: 'user-2',
      value: '{"eventId":"e-2","orders":{}}',
      headers: { traceparent: '00-02', tenant: 'a' },
    };
    expect(after.map((r) => ({ partition: r.partition, offset: r.offset, ...plain(r) }))).toEqual([
      { partition: 2, offset: '0', ...one },
      { partition: 2, offset: '1', ...two },
      { partition: 2, offset: '2', ...one },
      { partition: 2, offset: '3', ...two },
    ]);
  });

  test('shape 3 (Kafka Connect dead-letter queue), written by a real Kafka Connect 3.7.2 worker: the records its converter refused, replayed to the source without the __connect.errors.* headers', async () => {
    await recreate([EVENTS_AGGREGATES, TELEMETRY_RAW, DLQ_SNOWFLAKE]);
    // The sink reads the dead-letter topic's sources (the catalog's), the misrouted one a topic that
    // is not one of them.
    expect(SNOWFLAKE_SINK_SOURCES).toEqual([EVENTS_AGGREGATES]);
    const platformSink = renderSnowflakeSinkConfig(
      snowflakeSinkOptions(configFor('dev', withSnowflake('dev')), TEST_SNOWFLAKE_SECRET_NAME),
    );
    const sinkName = platformSink.name!;
    const misroutedName = `${sinkName}-misrouted`;
    // Converters and errors.* exactly as the platform's sink sets them (its dead-letter topic too).
    const sample = fileSinkConfig(SNOWFLAKE_SINK_SOURCES, '/dev/null');
    expect(pick(sample, SINK_ERROR_SETTINGS)).toEqual(pick(platformSink, SINK_ERROR_SETTINGS));

    // Source records, each on its key's partition (murmur2, as every producer and the replay put it).
    const key = {
      purchase: 'PT1M|2026-11-25T06:33:00.000Z|type|purchase', // p0
      de: 'PT1M|2026-11-25T06:33:00.000Z|country|DE', // p1
      truncated: 'PT1M|2026-11-25T06:34:00.000Z|type|purchase', // p2
      notJson: 'PT1H|2026-11-25T06:00:00.000Z|type|click', // p1
      binary: 'PT1M|2026-11-25T06:36:00.000Z|type|page_view', // p0
    };
    const value = {
      purchase: JSON.stringify({ windowKey: key.purchase, windowSize: 'PT1M', events: 2, version: 3 }),
      de: JSON.stringify({ windowKey: key.de, windowSize: 'PT1M', events: 5, version: 1 }),
      truncated: `{"windowKey":"${key.truncated}","version":3`,
      notJson: 'not json',
      binary: Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
    };
    await produce(EVENTS_AGGREGATES, [
      { key: key.purchase, value: value.purchase, headers: { traceparent: '00-a1' } },
      { key: key.binary, value: value.binary, headers: { traceparent: '00-b3' } },
      { key: key.de, value: value.de },
      { key: key.notJson, value: value.notJson },
      { key: key.truncated, value: value.truncated, headers: { traceparent: '00-b1', tenant: ['a', 'b'] } },
    ]);
    await produce(TELEMETRY_RAW, [{ key: 'dev-1', value: 'not json', headers: { traceparent: '00-m1' } }]);

    // The worker: the sink, until it dead-lettered the three records its JsonConverter cannot read
    // and wrote the two it can; then a second sink, misrouted to the same dead-letter topic, reading
    // telemetry.raw (one record it cannot read). Then both are deleted and the worker stopped.
    const connect = await LocalConnect.start({ workerConfig: CONNECT_WORKER_CONFIG });
    let written: string[] = [];
    try {
      const file = join(connect.dir, 'sink.txt');
      await connect.putConnector(sinkName, fileSinkConfig(SNOWFLAKE_SINK_SOURCES, file));
      await connect.waitForRunning(sinkName);
      const lines = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
      await waitUntil(
        'the sink dead-lettered 3 records and wrote 2',
        async () => (await topicSize(admin, DLQ_SNOWFLAKE)) === 3 && lines().length === 2,
        () => connect.tail(),
      );
      written = lines();
      await connect.putConnector(
        misroutedName,
        fileSinkConfig([TELEMETRY_RAW], join(connect.dir, 'misrouted.txt')),
      );
      await connect.waitForRunning(misroutedName);
      await waitUntil(
        'the misrouted sink dead-lettered 1 record',
        async () => (await topicSize(admin, DLQ_SNOWFLAKE)) === 4,
        () => connect.tail(),
      );
      for (const name of [sinkName, misroutedName]) await connect.deleteConnector(name);
    } finally {
      await connect.stop();
      await admin.deleteGroups([`connect-${sinkName}`, `connect-${misroutedName}`]).catch(() => undefined);
      await deleteTopicsAndWait(admin, LocalConnect.internalTopics(connect.clusterId));
    }
    // FileStreamSinkTask prints each converted value (a schemaless JSON object: a java.util.Map).
    expect(written.map((l) => /windowKey=([^,}]+)/.exec(l)?.[1]).sort()).toEqual(
      [key.de, key.purchase].sort(),
    );

    // What the worker wrote: the original key, value bytes and headers, then its context headers.
    const connectErrors = (connector: string, topic: string, partition: number, offset: number) => [
      ['__connect.errors.topic', topic],
      ['__connect.errors.partition', String(partition)],
      ['__connect.errors.offset', String(offset)],
      ['__connect.errors.connector.name', connector],
      ['__connect.errors.task.id', '0'],
      ['__connect.errors.stage', 'VALUE_CONVERTER'],
      ['__connect.errors.class.name', 'org.apache.kafka.connect.json.JsonConverter'],
      ['__connect.errors.exception.class.name', 'org.apache.kafka.connect.errors.DataException'],
      ['__connect.errors.exception.message', CONVERTER_ERROR],
      [
        '__connect.errors.exception.stacktrace',
        `org.apache.kafka.connect.errors.DataException: ${CONVERTER_ERROR}`,
      ],
    ];
    const deadLetters = await readRaw(DLQ_SNOWFLAKE);
    // The stack trace compared by its first line; the rest names the cause.
    for (const r of deadLetters)
      expect(r.headers.find(([n]) => n === '__connect.errors.exception.stacktrace')?.[1]).toContain(
        'Caused by: org.apache.kafka.common.errors.SerializationException',
      );
    expect(
      deadLetters.map((r) => ({
        ...r,
        headers: r.headers.map(([n, v]) => [n, n.endsWith('.stacktrace') ? v.split('\n')[0] : v]),
      })),
    ).toEqual([
      {
        partition: 0,
        offset: '0',
        key: key.binary,
        value: value.binary,
        headers: [['traceparent', '00-b3'], ...connectErrors(sinkName, EVENTS_AGGREGATES, 0, 1)],
      },
      {
        partition: 0,
        offset: '1',
        key: 'dev-1',
        value: Buffer.from('not json'),
        headers: [['traceparent', '00-m1'], ...connectErrors(misroutedName, TELEMETRY_RAW, 0, 0)],
      },
      {
        partition: 1,
        offset: '0',
        key: key.notJson,
        value: Buffer.from(value.notJson),
        headers: connectErrors(sinkName, EVENTS_AGGREGATES, 1, 1),
      },
      {
        partition: 2,
        offset: '0',
        key: key.truncated,
        value: Buffer.from(value.truncated),
        headers: [
          ['traceparent', '00-b1'],
          ['tenant', 'a'],
          ['tenant', 'b'],
          ...connectErrors(sinkName, EVENTS_AGGREGATES, 2, 0),
        ],
      },
    ]);

    const run = await replay('snowflake-sink');
    const at = (line: string) => line.startsWith(`  ${DLQ_SNOWFLAKE} `);
    expect({ ...run, out: run.out.filter((l) => !at(l)) }).toEqual({
      code: 1,
      out: [
        `dlq replay snowflake-sink: ${DLQ_SNOWFLAKE} -> ${EVENTS_AGGREGATES}; group ops-replay-${DLQ_SNOWFLAKE}; 50 records/s; at least once`,
        '  to read: 4 dead-letter records (p0 0..2, p1 0..1, p2 0..1)',
        'replayed 3 records from 4 dead-letter records; refused 1, unrecognised 0',
        `committed ops-replay-${DLQ_SNOWFLAKE}: p0=2 p1=1 p2=1`,
      ],
      err: [],
    });
    // One line per dead-letter record; the partitions' order is the fetch's, so compared sorted.
    const dataException = 'connect org.apache.kafka.connect.errors.DataException';
    expect(run.out.filter(at).sort()).toEqual([
      `  ${DLQ_SNOWFLAKE} p0@0 ${dataException} -> ${EVENTS_AGGREGATES} (from p0@1) key=${key.binary} headers=1`,
      `  ${DLQ_SNOWFLAKE} p0@1 refused: source topic ${TELEMETRY_RAW} is not a source of ${DLQ_SNOWFLAKE} (allowed: ${EVENTS_AGGREGATES}); nothing written`,
      `  ${DLQ_SNOWFLAKE} p1@0 ${dataException} -> ${EVENTS_AGGREGATES} (from p1@1) key=${key.notJson} headers=0`,
      `  ${DLQ_SNOWFLAKE} p2@0 ${dataException} -> ${EVENTS_AGGREGATES} (from p2@0) key=${key.truncated} headers=3`,
    ]);

    // The source: the originals, then each dead-lettered one again on its key's partition, with the
    // original key, value bytes and headers, and no __connect.errors.* header.
    expect(await readRaw(EVENTS_AGGREGATES)).toEqual([
      {
        partition: 0,
        offset: '0',
        key: key.purchase,
        value: Buffer.from(value.purchase),
        headers: [['traceparent', '00-a1']],
      },
      {
        partition: 0,
        offset: '1',
        key: key.binary,
        value: value.binary,
        headers: [['traceparent', '00-b3']],
      },
      {
        partition: 0,
        offset: '2',
        key: key.binary,
        value: value.binary,
        headers: [['traceparent', '00-b3']],
      },
      { partition: 1, offset: '0', key: key.de, value: Buffer.from(value.de), headers: [] },
      { partition: 1, offset: '1', key: key.notJson, value: Buffer.from(value.notJson), headers: [] },
      { partition: 1, offset: '2', key: key.notJson, value: Buffer.from(value.notJson), headers: [] },
      ...[0, 1].map((offset) => ({
        partition: 2,
        offset: String(offset),
        key: key.truncated,
        value: Buffer.from(value.truncated),
        headers: [
          ['traceparent', '00-b1'],
          ['tenant', 'a'],
          ['tenant', 'b'],
        ],
      })),
    ]);
    // The refused one was not written anywhere: telemetry.raw holds only its original.
    expect(await topicSize(admin, TELEMETRY_RAW)).toBe(1);
    expect(await committed(`ops-replay-${DLQ_SNOWFLAKE}`, DLQ_SNOWFLAKE)).toEqual({ 0: '2', 1: '1', 2: '1' });
  }, 300_000);

  test('--dry-run prints what it would send, writes and commits nothing, leaves no group', async () => {
    await recreate([TELEMETRY_RAW, DLQ_SESSIONIZE]);
    await produce(DLQ_SESSIONIZE, [
      {
        partition: 0,
        key: 'dev-1',
        value: '{"deviceId":"dev-1","ts":"2026-11-25T06:33:57.123Z","temperature":"hot"}',
        headers: {
          'dlq.reason': 'schema_violation',
          'dlq.detail': 'temperature: not a number',
          'dlq.source.topic': TELEMETRY_RAW,
          'dlq.source.partition': '1',
          'dlq.source.offset': '7',
          'dlq.consumer': 'sessionize',
          'dlq.at': '2026-11-25T06:34:00.000Z',
        },
      },
    ]);
    const run = await replay('sessionize', ['--dry-run']);
    expect(run).toEqual({
      code: 0,
      out: [
        `dry run: dlq replay sessionize: ${DLQ_SESSIONIZE} -> ${TELEMETRY_RAW}; group ops-replay-${DLQ_SESSIONIZE}; 50 records/s; at least once`,
        '  to read: 1 dead-letter records (p0 0..1, p1 0..0, p2 0..0)',
        `  ${DLQ_SESSIONIZE} p0@0 dlq schema_violation would replay to ${TELEMETRY_RAW} (from p1@7) key=dev-1 headers=0`,
        'dry run: would replay 1 records from 1 dead-letter records; refused 0, unrecognised 0',
        'dry run: nothing written, nothing committed',
      ],
      err: [],
    });
    expect(await topicSize(admin, TELEMETRY_RAW)).toBe(0);
    expect(await committed(`ops-replay-${DLQ_SESSIONIZE}`, DLQ_SESSIONIZE)).toEqual({
      0: '-1',
      1: '-1',
      2: '-1',
    });
    expect((await admin.listGroups()).groups.filter((g) => g.groupId.includes('dry-run'))).toEqual([]);
  });

  test('--rate with an injected clock: a burst of one second, then one record per 1/rate s', async () => {
    await recreate([TELEMETRY_RAW, DLQ_SESSIONIZE]);
    await produce(DLQ_SESSIONIZE, readings(10));
    const clock = new ManualClock();
    // When each chunk was sent (its commit follows its send with no wait in between).
    const sentAt: number[] = [];
    const run = await replay('sessionize', ['--rate', '4'], {
      clock,
      beforeCommit: () => {
        sentAt.push(clock.now());
      },
    });
    expect(run.code).toBe(0);
    // The burst of 4 at once, then one record every 250 ms: 10 records in 1.5 s of the clock.
    expect(sentAt).toEqual([0, 250, 500, 750, 1000, 1250, 1500]);
    expect(run.out.filter((l) => l.startsWith(`  ${DLQ_SESSIONIZE} `))).toHaveLength(10);
    expect(await topicSize(admin, TELEMETRY_RAW)).toBe(10);
  });

  test('at least once: stopped by --max, crashed between a send and its commit, resumed: every reading present, the unacknowledged chunk twice, byte for byte', async () => {
    await recreate([TELEMETRY_RAW, DLQ_SESSIONIZE]);
    const dead = readings(7);
    await produce(DLQ_SESSIONIZE, dead);
    const group = `ops-replay-${DLQ_SESSIONIZE}`;

    // 1. A clean stop after 3 dead-letter records (--max): 1..3 sent and committed.
    const first = await replay('sessionize', ['--rate', '3', '--max', '3'], { clock: new ManualClock() });
    expect(first.code).toBe(0);
    expect(first.out[first.out.length - 2]).toBe(
      'replayed 3 records from 3 dead-letter records; refused 0, unrecognised 0; stopped before the end (--max 3)',
    );
    expect(await committed(group, DLQ_SESSIONIZE)).toEqual({ 0: '3', 1: '-1', 2: '-1' });

    // 2. A crash after the broker acknowledged the next chunk (4..6) and before its commit.
    const crashed = await replay('sessionize', ['--rate', '3'], {
      clock: new ManualClock(),
      beforeCommit: () => {
        throw new Error('simulated crash before the commit');
      },
    });
    expect(crashed).toEqual({
      code: 2,
      out: [
        `dlq replay sessionize: ${DLQ_SESSIONIZE} -> ${TELEMETRY_RAW}; group ${group}; 3 records/s; at least once`,
        '  to read: 4 dead-letter records (p0 3..7, p1 0..0, p2 0..0)',
        // Sent and acknowledged, then the crash: not committed.
        `  ${DLQ_SESSIONIZE} p0@3 dlq processing_error -> ${TELEMETRY_RAW} (from p0@104) key=dev-0 headers=1`,
        `  ${DLQ_SESSIONIZE} p0@4 dlq processing_error -> ${TELEMETRY_RAW} (from p0@105) key=dev-1 headers=1`,
        `  ${DLQ_SESSIONIZE} p0@5 dlq processing_error -> ${TELEMETRY_RAW} (from p0@106) key=dev-0 headers=1`,
      ],
      err: [
        'error: simulated crash before the commit',
        `progress is committed in ${group}; run the same command again to resume`,
      ],
    });
    expect(await committed(group, DLQ_SESSIONIZE)).toEqual({ 0: '3', 1: '-1', 2: '-1' });

    // 3. Resumed: from the committed offset 3, so 4..6 again, then 7.
    const resumed = await replay('sessionize', ['--rate', '3'], { clock: new ManualClock() });
    expect(resumed.code).toBe(0);
    expect(resumed.out[resumed.out.length - 1]).toBe(`committed ${group}: p0=7 p1=-1 p2=-1`);

    // The source topic as the consumers read it: each reading at least once, the chunk in flight
    // at the crash twice, every copy byte-identical (same key, value, headers: the same dedupe key).
    const values = (await readAll(TELEMETRY_RAW)).map((r) => r.value!);
    const counts = Object.fromEntries(dead.map((d) => [d.value, values.filter((v) => v === d.value).length]));
    expect(Object.values(counts)).toEqual([1, 1, 1, 2, 2, 2, 1]);
    expect(values).toHaveLength(10);
    // Deduplicated by (deviceId, ts), the key sessionize drops repeats by: exactly the 7 readings.
    const dedupeKeys = new Set(
      values.map((v) => {
        const r = JSON.parse(v) as { deviceId: string; ts: string };
        return `${r.deviceId}|${r.ts}`;
      }),
    );
    expect([...dedupeKeys].sort()).toEqual(
      [1, 2, 3, 4, 5, 6, 7].map((i) => `dev-${i % 2}|2026-11-25T06:3${i}:00.000Z`).sort(),
    );
    const records = await readAll(TELEMETRY_RAW);
    for (const r of records) expect(r.headers).toEqual({ traceparent: `00-${JSON.parse(r.value!).n}` });
  });

  test('an unknown consumer is a usage error naming the allowed ones', async () => {
    const run = await ops(['dlq', 'replay', 'ingest', ...CONTEXT_FLAGS, '--bootstrap', bootstrap()]);
    expect(run).toEqual({
      code: 2,
      out: [],
      err: [
        'error: dlq replay: <consumer> must be one of enrich, aggregate, sessionize, alerting, snowflake-sink (got "ingest")',
        'run "npm run ops -- --help" for usage',
      ],
    });
  });
});

/** `n` shape-1 dead letters of sessionize on partition 0, each reading unique by (deviceId, ts). */
function readings(n: number): { partition: number; key: string; value: string; headers: IHeaders }[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    return {
      partition: 0,
      key: `dev-${i % 2}`,
      value: JSON.stringify({ deviceId: `dev-${i % 2}`, ts: `2026-11-25T06:3${i}:00.000Z`, n: i }),
      headers: {
        traceparent: `00-${i}`,
        'dlq.reason': 'processing_error',
        'dlq.detail': 'S3 unavailable',
        'dlq.source.topic': TELEMETRY_RAW,
        'dlq.source.partition': '0',
        'dlq.source.offset': String(100 + i),
        'dlq.consumer': 'sessionize',
        'dlq.at': '2026-11-25T06:40:00.000Z',
      },
    };
  });
}
