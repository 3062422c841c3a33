/**
 * The topic catalog on a real Apache Kafka broker of the MSK version line (KRaft, single node, from
 * Maven Central; started by global-setup.ts). What runs here is what the templates carry: each
 * environment's `AWS::MSK::Topic` resources are read from the synthesized template, their Configs
 * decoded, and the topics created through kafkajs admin and read back with describeConfigs.
 *
 * Not reproducible on one broker: replication factors above 1 (created here with 1; the cluster's
 * broker count bounds them at synth, tested below). MSK's CreateTopic control plane itself cannot run
 * here; it passes Configs to the broker as topic configs, which is what this test exercises.
 */
import { ConfigResourceTypes, type Admin, type ITopicConfig } from 'kafkajs';
import { ConfigError } from '../../lib/config/errors';
import { ENVIRONMENTS, synthEnvironment } from '../support/synth';
import { templateTopics } from '../support/templates';
import { connectAdmin, createTemplateTopics, deleteTopicsAndWait, kafkaErrorOf } from './harness/clients';

/** kafkajs describeConfigs: configSource 1 = DYNAMIC_TOPIC_CONFIG (set on the topic itself). */
const TOPIC_CONFIG_SOURCE = 1;

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

  test('describeConfigs reads back every config equal, as a topic-level config', async () => {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.name })),
    });
    for (const topic of topics) {
      const resource = described.resources.find((r) => r.resourceName === topic.name)!;
      expect(resource.errorCode).toBe(0);
      const onBroker = Object.fromEntries(
        resource.configEntries
          .filter((e) => e.configName in topic.configs)
          .map((e) => [e.configName, { value: e.configValue, source: e.configSource }]),
      );
      const expected = Object.fromEntries(
        Object.entries(topic.configs).map(([name, value]) => [name, { value, source: TOPIC_CONFIG_SOURCE }]),
      );
      expect({ topic: topic.name, configs: onBroker }).toEqual({ topic: topic.name, configs: expected });
    }
  });

  test('partition counts are the template counts', async () => {
    const metadata = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) });
    for (const topic of topics) {
      const onBroker = metadata.topics.find((t) => t.name === topic.name)!;
      expect({ topic: topic.name, partitions: onBroker.partitions.length }).toEqual({
        topic: topic.name,
        partitions: topic.partitions,
      });
    }
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
