import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  decodeTopicConfigs,
  encodeTopicConfigs,
  kafkaTopicConfigs,
  type TopicSettings,
} from '../../lib/topics/topic-settings';
import { TOPIC_IDS, TOPIC_SPECS } from '../../lib/topics/topic-specs';
import { buildApp, ENVIRONMENTS, synthEnvironment, type SynthesizedEnvironment } from '../support/synth';

type CfnTopic = {
  Properties: { TopicName: string; PartitionCount: number; ReplicationFactor: number; Configs: string };
};

function topicsByName(t: Template): Map<string, CfnTopic> {
  const found = t.findResources('AWS::MSK::Topic') as Record<string, CfnTopic>;
  return new Map(Object.values(found).map((r) => [r.Properties.TopicName, r]));
}

/**
 * Hand-written expectations, worked out from cdk.json and topic-specs.ts (never from the renderer):
 * per environment, a compacted topic, a delete topic with per-topic settings, a topic with design
 * defaults, and a dead-letter topic (1 MiB sources + 256 KiB = 1310720 bytes).
 */
const EXPECTED_TOPICS: Record<
  string,
  Record<string, { partitions: number; replicationFactor: number; configs: Record<string, string> }>
> = {
  dev: {
    'cdc.orders': {
      partitions: 3,
      replicationFactor: 2,
      configs: {
        'cleanup.policy': 'compact',
        'compression.type': 'producer',
        'delete.retention.ms': '86400000',
        'max.message.bytes': '1048576',
        'min.insync.replicas': '1',
      },
    },
    'events.user': {
      partitions: 3,
      replicationFactor: 2,
      configs: {
        'cleanup.policy': 'delete',
        'compression.type': 'producer',
        'max.message.bytes': '1048576',
        'min.insync.replicas': '1',
        'retention.bytes': '-1',
        'retention.ms': '259200000',
      },
    },
    'dlq.snowflake-sink': {
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
    },
  },
  staging: {
    'telemetry.raw': {
      partitions: 12,
      replicationFactor: 3,
      configs: {
        'cleanup.policy': 'delete',
        'compression.type': 'producer',
        'max.message.bytes': '1048576',
        'min.insync.replicas': '2',
        'retention.bytes': '-1',
        'retention.ms': '604800000',
      },
    },
    'dlq.enrich': {
      partitions: 6,
      replicationFactor: 3,
      configs: {
        'cleanup.policy': 'delete',
        'compression.type': 'producer',
        'max.message.bytes': '1310720',
        'min.insync.replicas': '2',
        'retention.bytes': '-1',
        'retention.ms': '604800000',
      },
    },
  },
  prod: {
    'cdc.orders': {
      partitions: 12,
      replicationFactor: 3,
      configs: {
        'cleanup.policy': 'compact',
        'compression.type': 'producer',
        'delete.retention.ms': '604800000',
        'max.message.bytes': '1048576',
        'min.insync.replicas': '2',
      },
    },
    'telemetry.raw': {
      partitions: 48,
      replicationFactor: 3,
      configs: {
        'cleanup.policy': 'delete',
        'compression.type': 'producer',
        'max.message.bytes': '1048576',
        'min.insync.replicas': '2',
        'retention.bytes': '214748364800',
        'retention.ms': '259200000',
      },
    },
    'cdc.heartbeat.orders': {
      partitions: 1,
      replicationFactor: 3,
      configs: {
        'cleanup.policy': 'delete',
        'compression.type': 'producer',
        'max.message.bytes': '1048576',
        'min.insync.replicas': '2',
        'retention.bytes': '214748364800',
        'retention.ms': '86400000',
      },
    },
    'events.aggregates': {
      partitions: 12,
      replicationFactor: 3,
      configs: {
        'cleanup.policy': 'compact',
        'compression.type': 'producer',
        'delete.retention.ms': '86400000',
        'max.message.bytes': '1048576',
        'min.insync.replicas': '2',
      },
    },
    'dlq.alerting': {
      partitions: 12,
      replicationFactor: 3,
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

describe.each(ENVIRONMENTS)('topic catalog in %s', (envName) => {
  let synth: SynthesizedEnvironment;
  beforeAll(() => {
    synth = synthEnvironment(envName);
  });

  test('creates exactly one AWS::MSK::Topic per catalog topic', () => {
    synth.streaming.resourceCountIs('AWS::MSK::Topic', TOPIC_IDS.length);
    expect([...topicsByName(synth.streaming).keys()].sort()).toEqual(
      TOPIC_IDS.map((id) => TOPIC_SPECS[id].name).sort(),
    );
  });

  test('partitions, replication and configs of well-chosen topics are exactly the hand-written ones', () => {
    const topics = topicsByName(synth.streaming);
    const expected = EXPECTED_TOPICS[envName]!;
    const actual = Object.fromEntries(
      Object.keys(expected).map((name) => {
        const p = topics.get(name)!.Properties;
        const configs = decodeTopicConfigs(p.Configs);
        return [name, { partitions: p.PartitionCount, replicationFactor: p.ReplicationFactor, configs }];
      }),
    );
    expect(actual).toEqual(expected);
  });

  test('every dead-letter topic takes 1310720-byte records, every other topic 1048576', () => {
    for (const [name, resource] of topicsByName(synth.streaming)) {
      const max = decodeTopicConfigs(resource.Properties.Configs)['max.message.bytes'];
      expect({ name, max }).toEqual({ name, max: name.startsWith('dlq.') ? '1310720' : '1048576' });
    }
  });

  test('every topic is retained on delete and on replacement', () => {
    synth.streaming.allResources('AWS::MSK::Topic', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('every topic references the cluster', () => {
    const clusterId = synth.stacks.streaming.getLogicalId(synth.stacks.streaming.cluster.cluster);
    synth.streaming.allResourcesProperties('AWS::MSK::Topic', {
      ClusterArn: { 'Fn::GetAtt': [clusterId, 'Arn'] },
    });
  });

  test('keyed state is compacted, event streams are not', () => {
    const topics = topicsByName(synth.streaming);
    expect(decodeTopicConfigs(topics.get('cdc.orders')!.Properties.Configs)['cleanup.policy']).toBe(
      'compact',
    );
    expect(decodeTopicConfigs(topics.get('events.aggregates')!.Properties.Configs)['cleanup.policy']).toBe(
      'compact',
    );
    expect(decodeTopicConfigs(topics.get('events.user')!.Properties.Configs)['cleanup.policy']).toBe(
      'delete',
    );
  });

  test('every name is published as an SSM parameter and a stack export', () => {
    for (const id of TOPIC_IDS) {
      const name = TOPIC_SPECS[id].name;
      synth.streaming.hasResourceProperties('AWS::SSM::Parameter', {
        Name: `/streaming/${envName}/topics/${name}`,
        Value: name,
        Type: 'String',
      });
    }
    const exports = Object.values(synth.streaming.findOutputs('*')).map(
      (o) => (o as { Export?: { Name: string } }).Export?.Name,
    );
    expect(exports).toEqual(
      expect.arrayContaining([
        `streaming-${envName}-topic-events-user`,
        `streaming-${envName}-topic-dlq-snowflake-sink`,
      ]),
    );
  });
});

describe('topic configs rendering and encoding (pure functions, hand-written cases)', () => {
  const DAY = 86_400_000;
  const compacted: TopicSettings = {
    partitions: 3,
    replicationFactor: 2,
    minInsyncReplicas: 1,
    retention: 3 * DAY,
    retentionBytes: -1,
    cleanupPolicy: 'compact',
    compression: 'producer',
    maxMessageBytes: 1_048_576,
    deleteRetention: DAY,
  };

  test('a compacted topic carries tombstone retention but no time or size retention', () => {
    expect(kafkaTopicConfigs(compacted)).toEqual({
      'cleanup.policy': 'compact',
      'compression.type': 'producer',
      'delete.retention.ms': '86400000',
      'max.message.bytes': '1048576',
      'min.insync.replicas': '1',
    });
  });

  test('a delete topic carries time and size retention but no tombstone retention', () => {
    expect(
      kafkaTopicConfigs({
        ...compacted,
        cleanupPolicy: 'delete',
        retention: 3 * DAY,
        retentionBytes: 200 * 1024 ** 3,
        minInsyncReplicas: 2,
        compression: 'zstd',
      }),
    ).toEqual({
      'cleanup.policy': 'delete',
      'compression.type': 'zstd',
      'max.message.bytes': '1048576',
      'min.insync.replicas': '2',
      'retention.bytes': '214748364800',
      'retention.ms': '259200000',
    });
  });

  test('compact,delete carries both', () => {
    expect(kafkaTopicConfigs({ ...compacted, cleanupPolicy: 'compact,delete' })).toEqual({
      'cleanup.policy': 'compact,delete',
      'compression.type': 'producer',
      'delete.retention.ms': '86400000',
      'max.message.bytes': '1048576',
      'min.insync.replicas': '1',
      'retention.bytes': '-1',
      'retention.ms': '259200000',
    });
  });

  /** dev cdc.orders: base64 of exactly this JSON text, keys sorted, string values. */
  const DEV_CDC_ORDERS_JSON =
    '{"cleanup.policy":"compact","compression.type":"producer","delete.retention.ms":"86400000","max.message.bytes":"1048576","min.insync.replicas":"1"}';
  const DEV_CDC_ORDERS_BASE64 =
    'eyJjbGVhbnVwLnBvbGljeSI6ImNvbXBhY3QiLCJjb21wcmVzc2lvbi50eXBlIjoicHJvZHVjZXIiLCJkZWxldGUucmV0ZW50aW9uLm1zIjoiODY0MDAwMDAiLCJtYXgubWVzc2FnZS5ieXRlcyI6IjEwNDg1NzYiLCJtaW4uaW5zeW5jLnJlcGxpY2FzIjoiMSJ9';

  test('Configs is base64 of the JSON object, byte for byte', () => {
    expect(Buffer.from(DEV_CDC_ORDERS_BASE64, 'base64').toString('utf8')).toBe(DEV_CDC_ORDERS_JSON);
    expect(encodeTopicConfigs(kafkaTopicConfigs(compacted))).toBe(DEV_CDC_ORDERS_BASE64);
    expect(decodeTopicConfigs(DEV_CDC_ORDERS_BASE64)).toEqual(JSON.parse(DEV_CDC_ORDERS_JSON));
  });

  test('the dev template carries exactly those bytes for cdc.orders', () => {
    const resource = topicsByName(synthEnvironment('dev').streaming).get('cdc.orders')!;
    expect(resource.Properties.Configs).toBe(DEV_CDC_ORDERS_BASE64);
  });

  test('decoding refuses anything but an object of strings', () => {
    expect(() => decodeTopicConfigs(Buffer.from('{"a":1}').toString('base64'))).toThrow('string values');
    expect(() => decodeTopicConfigs(Buffer.from('["a"]').toString('base64'))).toThrow('string values');
  });
});

describe('context overrides', () => {
  test('-c topics.<topic>.<setting> changes exactly that topic in the template', () => {
    const before = topicsByName(synthEnvironment('prod').streaming);
    const after = topicsByName(
      synthEnvironment('prod', {
        'topics.telemetry.raw.partitions': '96',
        'topics.cdc.orders.deleteRetention': '3d',
      }).streaming,
    );
    for (const [name, resource] of before) {
      const changed = after.get(name)!;
      if (name === 'telemetry.raw') {
        expect(changed.Properties).toEqual({ ...resource.Properties, PartitionCount: 96 });
      } else if (name === 'cdc.orders') {
        expect(decodeTopicConfigs(changed.Properties.Configs)).toEqual({
          ...decodeTopicConfigs(resource.Properties.Configs),
          'delete.retention.ms': String(3 * 86_400_000),
        });
        expect(changed.Properties.PartitionCount).toBe(resource.Properties.PartitionCount);
      } else {
        expect(changed).toEqual(resource);
      }
    }
  });

  test('a bad override fails synth naming the key', () => {
    expect(() => synthEnvironment('prod', { 'topics.telemetry.raw.partitions': '0' })).toThrow(
      'topics.telemetry.raw.partitions: must be between 1 and 10000 (got 0)',
    );
  });
});

describe('grants', () => {
  const stack = buildApp('dev').stacks.streaming;
  const catalog = stack.catalog;
  const producer = new iam.Role(stack, 'TestProducer', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  const consumer = new iam.Role(stack, 'TestConsumer', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  catalog.grantProduce('eventsEnriched', producer);
  catalog.grantConsume('eventsUser', 'enrich', consumer);
  const template = Template.fromStack(stack);
  const policyOf = (role: iam.Role) =>
    Object.values(template.findResources('AWS::IAM::Policy')).find(
      (p) =>
        JSON.stringify((p as { Properties: { Roles: unknown } }).Properties.Roles) ===
        JSON.stringify([stack.resolve(role.roleName)]),
    ) as {
      Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } };
    };

  const clusterArn = stack.resolve(stack.cluster.clusterArn);
  const topicArn = (name: string) => ({
    'Fn::Join': ['', [stack.resolve(stack.cluster.topicArnPrefix), name]],
  });
  const groupArn = (name: string) => ({
    'Fn::Join': ['', [stack.resolve(stack.cluster.groupArnPrefix), name]],
  });

  test('produce is exactly: connect and idempotent writes on the cluster, describe and write on the topic', () => {
    expect(policyOf(producer).Properties.PolicyDocument.Statement).toEqual([
      {
        Action: [
          'kafka-cluster:Connect',
          'kafka-cluster:DescribeCluster',
          'kafka-cluster:WriteDataIdempotently',
        ],
        Effect: 'Allow',
        Resource: clusterArn,
      },
      {
        Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
        Effect: 'Allow',
        Resource: topicArn('events.enriched'),
      },
    ]);
  });

  test('consume is exactly: connect on the cluster, the consumer group, describe and read on the topic', () => {
    expect(policyOf(consumer).Properties.PolicyDocument.Statement).toEqual([
      {
        Action: ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster'],
        Effect: 'Allow',
        Resource: clusterArn,
      },
      {
        Action: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
        Effect: 'Allow',
        Resource: groupArn('enrich'),
      },
      {
        Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
        Effect: 'Allow',
        Resource: topicArn('events.user'),
      },
    ]);
  });

  test("the catalog's topic ARN is the cluster's published topic prefix plus the name", () => {
    expect(Stack.of(catalog).resolve(catalog.topic('eventsUser').arn)).toEqual(topicArn('events.user'));
  });
});
