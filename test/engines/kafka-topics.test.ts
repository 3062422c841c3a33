/**
 * The topic catalog on a real Apache Kafka broker of the MSK version line (KRaft, single node, from
 * Maven Central; started by global-setup.ts). What runs here is what the templates carry: each
 * environment's `AWS::MSK::Topic` resources are read from the synthesized template, their Configs
 * decoded, and the topics created through kafkajs admin and read back with describeConfigs.
 *
 * What the broker reads back is compared with values written by hand below (worked out from cdk.json
 * and topic-specs.ts), not with what the renderer produced: a wrong rendering fails here even though
 * the broker would faithfully store it. Every other topic is checked to hold the template's configs.
 *
 * Not reproducible on one broker: replication factors above 1 (created here with 1; the cluster's
 * broker count bounds them at synth, tested below). MSK's CreateTopic control plane itself cannot run
 * here; it passes Configs to the broker as topic configs, which is what this test exercises.
 */
import { ConfigResourceTypes, ConfigSource, type Admin, type ITopicConfig } from 'kafkajs';
import { ConfigError } from '../../lib/config/errors';
import { ENVIRONMENTS, synthEnvironment } from '../support/synth';
import { templateTopics } from '../support/templates';
import {
  connectAdmin,
  createTemplateTopics,
  deleteTopicsAndWait,
  kafkaClient,
  kafkaErrorOf,
  produceOne,
} from './harness/clients';

/** The partition count and topic-level configs the broker must hold, written by hand. */
const ON_BROKER: Record<string, Record<string, { partitions: number; configs: Record<string, string> }>> = {
  dev: {
    'cdc.orders': {
      partitions: 3,
      configs: {
        'cleanup.policy': 'compact',
        'compression.type': 'producer',
        'delete.retention.ms': '86400000',
        'max.message.bytes': '1048576',
        'min.insync.replicas': '1',
      },
    },
    'dlq.enrich': {
      partitions: 3,
      configs: {
        'cleanup.policy': 'delete',
        'compression.type': 'producer',
        'max.message.bytes': '1310720',
        'min.insync.replicas': '1',
        'retention.bytes': '-1',
        'retention.ms': '259200000',
      },
    },
  },
  staging: {
    'telemetry.raw': {
      partitions: 12,
      configs: {
        'cleanup.policy': 'delete',
        'compression.type': 'producer',
        'max.message.bytes': '1048576',
        'min.insync.replicas': '2',
        'retention.bytes': '-1',
        'retention.ms': '604800000',
      },
    },
  },
  prod: {
    'telemetry.raw': {
      partitions: 48,
      configs: {
        'cleanup.policy': 'delete',
        'compression.type': 'producer',
        'max.message.bytes': '1048576',
        'min.insync.replicas': '2',
        'retention.bytes': '214748364800',
        'retention.ms': '259200000',
      },
    },
    'events.aggregates': {
      partitions: 12,
      configs: {
        'cleanup.policy': 'compact',
        'compression.type': 'producer',
        'delete.retention.ms': '86400000',
        'max.message.bytes': '1048576',
        'min.insync.replicas': '2',
      },
    },
    'dlq.snowflake-sink': {
      partitions: 12,
      configs: {
        'cleanup.policy': 'delete',
        'compression.type': 'producer',
        'max.message.bytes': '1310720',
        'min.insync.replicas': '2',
        'retention.bytes': '214748364800',
        'retention.ms': '604800000',
      },
    },
  },
};

/** The topic-level configs (name -> value) the broker holds for each topic. */
async function topicLevelConfigs(
  admin: Admin,
  names: readonly string[],
): Promise<Map<string, Record<string, string>>> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  return new Map(
    described.resources.map((r) => {
      expect({ topic: r.resourceName, errorCode: r.errorCode }).toEqual({
        topic: r.resourceName,
        errorCode: 0,
      });
      const own = r.configEntries.filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG);
      return [r.resourceName, Object.fromEntries(own.map((e) => [e.configName, e.configValue]))];
    }),
  );
}

let admin: Admin;
beforeAll(async () => {
  admin = await connectAdmin();
});
afterAll(async () => {
  await admin.disconnect();
});

describe.each(ENVIRONMENTS)('%s catalog on the real broker', (envName) => {
  const topics = templateTopics(synthEnvironment(envName).streaming);

  afterAll(async () => {
    await deleteTopicsAndWait(
      admin,
      topics.map((t) => t.name),
    );
  });

  test('every topic is created with exactly the configs of the template', async () => {
    const created = await createTemplateTopics(admin, topics);
    expect(created).toBe(true);
  });

  test('the broker holds exactly the hand-written partitions and topic-level configs', async () => {
    const expected = ON_BROKER[envName]!;
    const names = Object.keys(expected);
    const configs = await topicLevelConfigs(admin, names);
    const metadata = await admin.fetchTopicMetadata({ topics: names });
    const onBroker = Object.fromEntries(
      names.map((name) => [
        name,
        {
          partitions: metadata.topics.find((t) => t.name === name)!.partitions.length,
          configs: configs.get(name),
        },
      ]),
    );
    expect(onBroker).toEqual(expected);
  });

  test('every topic holds exactly the configs and partitions of its template resource (round trip)', async () => {
    const configs = await topicLevelConfigs(
      admin,
      topics.map((t) => t.name),
    );
    const metadata = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) });
    for (const topic of topics) {
      const partitions = metadata.topics.find((t) => t.name === topic.name)!.partitions.length;
      expect({ topic: topic.name, partitions, configs: configs.get(topic.name) }).toEqual({
        topic: topic.name,
        partitions: topic.partitions,
        configs: topic.configs,
      });
    }
  });
});

describe('a record at its source maximum can be dead-lettered with its headers (dev catalog)', () => {
  const topics = templateTopics(synthEnvironment('dev').streaming).filter((t) =>
    ['events.user', 'dlq.enrich'].includes(t.name),
  );
  const kafka = kafkaClient('engine-tests-dead-letter');
  /** Just under events.user's 1048576 bytes: the batch adds 61 bytes of header and a few per record. */
  const value = 'x'.repeat(1_048_576 - 200);
  /** What our consumers add (CONTRACT.md), with dlq.detail at its 4 KiB cap. */
  const dlqHeaders = {
    'dlq.reason': 'schema_violation',
    'dlq.detail': 'd'.repeat(4096),
    'dlq.source.topic': 'events.user',
    'dlq.source.partition': '2',
    'dlq.source.offset': '123456789',
    'dlq.consumer': 'enrich',
    'dlq.at': '2026-11-25T14:00:00.000Z',
  };
  /** What Kafka Connect's dead-letter queue adds: a large Java stack trace among its error headers. */
  const connectHeaders = {
    '__connect.errors.topic': 'events.aggregates',
    '__connect.errors.exception.class.name': 'org.apache.kafka.connect.errors.DataException',
    '__connect.errors.exception.stacktrace': 'at org.example.Frame.call(Frame.java:1)\n'.repeat(1600),
  };

  beforeAll(async () => {
    await createTemplateTopics(admin, topics);
  });
  afterAll(async () => {
    await deleteTopicsAndWait(
      admin,
      topics.map((t) => t.name),
    );
  });

  test('the source takes the record, and refuses it once the dead-letter headers are added', async () => {
    await produceOne(kafka, 'events.user', { key: 'user-1', value });
    expect(
      await kafkaErrorOf(() =>
        produceOne(kafka, 'events.user', { key: 'user-1', value, headers: dlqHeaders }),
      ),
    ).toBe('MESSAGE_TOO_LARGE');
  });

  test('the dead-letter topic takes it with our dlq.* headers and with Connect error headers', async () => {
    await produceOne(kafka, 'dlq.enrich', { key: 'user-1', value, headers: dlqHeaders });
    await produceOne(kafka, 'dlq.enrich', { key: 'user-1', value, headers: connectHeaders });
    const offsets = await admin.fetchTopicOffsets('dlq.enrich');
    expect(offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0)).toBe(2);
  });
});

describe('a wrong setting is rejected by the broker, and synth-time validation catches it first', () => {
  /** The catalog setting (as a `-c` override) and the topic config or creation request the broker gets. */
  const cases: {
    override: Record<string, string>;
    topic: Partial<ITopicConfig>;
    brokerError: string;
    synthKey: string;
  }[] = [
    {
      override: { 'topics.events.user.retentionMsx': '1d' },
      topic: { configEntries: [{ name: 'retention.msx', value: '86400000' }] },
      brokerError: 'INVALID_CONFIG',
      synthKey: 'topics.events.user.retentionMsx: unknown setting',
    },
    {
      override: { 'topics.events.user.cleanupPolicy': 'compakt' },
      topic: { configEntries: [{ name: 'cleanup.policy', value: 'compakt' }] },
      brokerError: 'INVALID_CONFIG',
      synthKey: 'topics.events.user.cleanupPolicy: must be one of',
    },
    {
      override: { 'topics.events.user.compression': 'brotli' },
      topic: { configEntries: [{ name: 'compression.type', value: 'brotli' }] },
      brokerError: 'INVALID_CONFIG',
      synthKey: 'topics.events.user.compression: must be one of',
    },
    {
      override: { 'topics.events.user.minInsyncReplicas': '0' },
      topic: { configEntries: [{ name: 'min.insync.replicas', value: '0' }] },
      brokerError: 'INVALID_CONFIG',
      synthKey: 'topics.events.user.minInsyncReplicas: must be between 1 and 64 (got 0)',
    },
    {
      override: { 'topics.events.user.maxMessageBytes': '-5' },
      topic: { configEntries: [{ name: 'max.message.bytes', value: '-5' }] },
      brokerError: 'INVALID_CONFIG',
      synthKey: 'topics.events.user.maxMessageBytes: expected a size',
    },
    {
      override: { 'topics.events.user.partitions': '0' },
      topic: { numPartitions: 0 },
      brokerError: 'INVALID_PARTITIONS',
      synthKey: 'topics.events.user.partitions: must be between 1 and 10000 (got 0)',
    },
    {
      // dev has 2 brokers; this broker has 1, so replication factor 2 is "above the broker count" here.
      override: { 'topics.events.user.replicationFactor': '3' },
      topic: { replicationFactor: 2 },
      brokerError: 'INVALID_REPLICATION_FACTOR',
      synthKey: 'topics.events.user.replicationFactor: must be between 1 and the broker count 2 (got 3)',
    },
  ];

  test.each(cases)('$synthKey', async ({ override, topic, brokerError, synthKey }) => {
    let synthError: unknown;
    try {
      synthEnvironment('dev', override);
    } catch (err) {
      synthError = err;
    }
    expect(synthError).toBeInstanceOf(ConfigError);
    expect((synthError as Error).message).toContain(synthKey);

    const name = `probe.bad-setting.${Math.random().toString(36).slice(2, 8)}`;
    const error = await kafkaErrorOf(() =>
      admin.createTopics({ topics: [{ topic: name, numPartitions: 1, replicationFactor: 1, ...topic }] }),
    );
    expect(error).toBe(brokerError);
    const existing = await admin.listTopics();
    expect(existing).not.toContain(name);
  });
});
