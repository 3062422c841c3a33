import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { decodeTopicConfigs, encodeTopicConfigs, kafkaTopicConfigs } from '../../lib/topics/topic-settings';
import { TOPIC_IDS, TOPIC_SPECS } from '../../lib/topics/topic-specs';
import {
  buildApp,
  configFor,
  ENVIRONMENTS,
  synthEnvironment,
  type SynthesizedEnvironment,
} from '../support/synth';

type CfnTopic = {
  Properties: { TopicName: string; PartitionCount: number; ReplicationFactor: number; Configs: string };
};

function topicsByName(t: Template): Map<string, CfnTopic> {
  const found = t.findResources('AWS::MSK::Topic') as Record<string, CfnTopic>;
  return new Map(Object.values(found).map((r) => [r.Properties.TopicName, r]));
}

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

  test('partitions, replication and configs are the resolved catalog settings', () => {
    const config = configFor(envName);
    const topics = topicsByName(synth.streaming);
    for (const id of TOPIC_IDS) {
      const { name, settings } = config.topics[id];
      const resource = topics.get(name)!;
      expect(resource.Properties.PartitionCount).toBe(settings.partitions);
      expect(resource.Properties.ReplicationFactor).toBe(settings.replicationFactor);
      expect(decodeTopicConfigs(resource.Properties.Configs)).toEqual(kafkaTopicConfigs(settings));
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

describe('topic configs encoding', () => {
  test('Configs is base64 of a JSON object with string values, keys sorted', () => {
    const configs = kafkaTopicConfigs(configFor('prod').topics.cdcOrders.settings);
    const encoded = encodeTopicConfigs(configs);
    expect(JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'))).toEqual(configs);
    expect(Object.keys(configs)).toEqual([...Object.keys(configs)].sort());
    expect(Object.values(configs).every((v) => typeof v === 'string')).toBe(true);
  });

  test('a compacted topic carries tombstone retention but no time or size retention', () => {
    expect(kafkaTopicConfigs(configFor('prod').topics.cdcOrders.settings)).toEqual({
      'cleanup.policy': 'compact',
      'compression.type': 'producer',
      'delete.retention.ms': '604800000',
      'max.message.bytes': '1048576',
      'min.insync.replicas': '2',
    });
  });

  test('a delete topic carries time and size retention but no tombstone retention', () => {
    expect(kafkaTopicConfigs(configFor('prod').topics.telemetryRaw.settings)).toEqual({
      'cleanup.policy': 'delete',
      'compression.type': 'producer',
      'max.message.bytes': '1048576',
      'min.insync.replicas': '2',
      'retention.bytes': String(200 * 1024 ** 3),
      'retention.ms': '259200000',
    });
  });

  test('decoding refuses anything but an object of strings', () => {
    expect(() => decodeTopicConfigs(Buffer.from('{"a":1}').toString('base64'))).toThrow('string values');
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
  const topicArn = (name: string) => stack.resolve(stack.cluster.topicArn(name));

  test('produce is scoped to the topic and the cluster', () => {
    const statements = policyOf(producer).Properties.PolicyDocument.Statement;
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
          Resource: topicArn('events.enriched'),
        }),
        expect.objectContaining({
          Action: expect.arrayContaining(['kafka-cluster:Connect', 'kafka-cluster:WriteDataIdempotently']),
          Resource: stack.resolve(stack.cluster.clusterArn),
        }),
      ]),
    );
    expect(JSON.stringify(statements)).not.toContain('kafka-cluster:ReadData');
    expect(JSON.stringify(statements)).not.toContain('"*"');
  });

  test('consume is scoped to the topic and the consumer group', () => {
    const statements = policyOf(consumer).Properties.PolicyDocument.Statement;
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
          Resource: topicArn('events.user'),
        }),
        expect.objectContaining({
          Action: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
          Resource: stack.resolve(stack.cluster.groupArn('enrich')),
        }),
      ]),
    );
    expect(JSON.stringify(statements)).not.toContain('kafka-cluster:WriteData');
  });

  test('topic ARNs are built from the cluster ARN, not hard-coded', () => {
    expect(JSON.stringify(topicArn('events.user'))).toContain('Fn::Split');
    expect(Stack.of(catalog).resolve(catalog.topic('eventsUser').arn)).toEqual(topicArn('events.user'));
  });
});
