/**
 * The events stack (docs/events-path.md): each event source mapping's properties per environment,
 * each consumer's environment, timeout and non-Kafka permissions, the state tables' data safety and
 * the alarms, compared with expectations written here by hand.
 */
import { Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { consumerTiming } from '../../lib/config/platform-config';
import { topicName } from '../../lib/topics/topic-specs';
import { synthEnvironment } from '../support/synth';

type Resources = Record<string, { Type: string; Properties: Record<string, any>; DeletionPolicy?: string }>;

const resources = (t: Template): Resources => t.toJSON().Resources as Resources;
const ofType = (t: Template, type: string) => Object.entries(resources(t)).filter(([, r]) => r.Type === type);

describe('derived timing', () => {
  test('budget = ceil(bound / (retries + 1)), timeout = budget + 60 s, lease = timeout', () => {
    expect(consumerTiming({ outageBoundMinutes: 15 }, { retryAttempts: 10 })).toEqual({
      retryBudgetSeconds: 82,
      timeoutSeconds: 142,
      claimLeaseSeconds: 142,
    });
    expect(consumerTiming({ outageBoundMinutes: 15 }, { retryAttempts: 2 })).toEqual({
      retryBudgetSeconds: 300,
      timeoutSeconds: 360,
      claimLeaseSeconds: 360,
    });
    expect(consumerTiming({ outageBoundMinutes: 1 }, { retryAttempts: 0 })).toEqual({
      retryBudgetSeconds: 60,
      timeoutSeconds: 120,
      claimLeaseSeconds: 120,
    });
  });
});

describe.each([
  ['dev', { batch: 100, min: 1, max: 1, age: -1, memory: 512, aggregateReserved: undefined }],
  ['prod', { batch: 1000, min: 2, max: 10, age: -1, memory: 1024, aggregateReserved: 24 }],
] as const)('events stack in %s', (envName, expected) => {
  const { stacks, events } = synthEnvironment(envName);
  const stack = stacks.events;
  const streaming = stacks.streaming.stackName;
  const fnId = (c: 'enrich' | 'aggregate') =>
    stack.getLogicalId(stacks.events[c].function.fn.node.defaultChild as never);
  const tableId = (c: 'enrichTable' | 'aggregateTable') =>
    stack.getLogicalId(stacks.events[c].table.node.defaultChild as never);
  const clusterArn = {
    'Fn::GetStackOutput': {
      StackName: streaming,
      Region: { Ref: 'AWS::Region' },
      OutputName: expect.stringMatching(/^PublishOutputFnGetAttKafkaCluster.*Arn/),
    },
  };
  const tags = [
    { Key: 'environment', Value: envName },
    { Key: 'platform', Value: 'streaming' },
  ];

  test('one event source mapping per source topic, with exactly these properties', () => {
    const mapping = (consumer: 'enrich' | 'aggregate', source: string, dlq: string) => ({
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: `${consumer}-${source}` },
      BatchSize: expected.batch,
      DestinationConfig: { OnFailure: { Destination: `kafka://${dlq}` } },
      EventSourceArn: clusterArn,
      FunctionName: { Ref: fnId(consumer) },
      MaximumBatchingWindowInSeconds: 1,
      MaximumRecordAgeInSeconds: expected.age,
      MaximumRetryAttempts: 10,
      ProvisionedPollerConfig: { MinimumPollers: expected.min, MaximumPollers: expected.max },
      StartingPosition: 'TRIM_HORIZON',
      Tags: tags,
      Topics: [source],
    });
    const mappings = ofType(events, 'AWS::Lambda::EventSourceMapping')
      .map(([, r]) => r.Properties)
      .sort((a, b) => String(a.Topics[0]).localeCompare(String(b.Topics[0])));
    expect(mappings).toEqual(
      [
        mapping('enrich', topicName('cdcOrders'), topicName('dlqEnrich')),
        mapping('aggregate', topicName('eventsEnriched'), topicName('dlqAggregate')),
        mapping('enrich', topicName('eventsUser'), topicName('dlqEnrich')),
      ].sort((a, b) => a.Topics[0]!.localeCompare(b.Topics[0]!)),
    );
  });

  test('functions: timeout = retry budget + headroom, memory, reserved concurrency, environment', () => {
    const fn = (c: 'enrich' | 'aggregate') => resources(events)[fnId(c)]!.Properties;
    const common = (c: 'enrich' | 'aggregate', dlq: string, table: 'enrichTable' | 'aggregateTable') => ({
      CONSUMER_NAME: c,
      BOOTSTRAP_BROKERS: expect.anything(),
      KAFKA_AUTH: 'iam',
      DEAD_LETTER_TOPIC: dlq,
      RETRY_BUDGET_SECONDS: '82',
      STATE_TABLE: { Ref: tableId(table) },
      DEDUPE_HORIZON_SECONDS: String(7 * 86_400),
      CLAIM_LEASE_SECONDS: '142',
      POWERTOOLS_SERVICE_NAME: `streaming-${envName}-${c}`,
      POWERTOOLS_METRICS_NAMESPACE: 'StreamingPlatform',
    });
    expect(fn('enrich').Timeout).toBe(142);
    expect(fn('aggregate').Timeout).toBe(142);
    expect(fn('enrich').MemorySize).toBe(expected.memory);
    expect(fn('enrich').ReservedConcurrentExecutions).toBeUndefined();
    expect(fn('aggregate').ReservedConcurrentExecutions).toBe(expected.aggregateReserved);
    expect(fn('enrich').Environment.Variables).toEqual({
      ...common('enrich', topicName('dlqEnrich'), 'enrichTable'),
      EVENTS_TOPIC: topicName('eventsUser'),
      ORDERS_TOPIC: topicName('cdcOrders'),
      ENRICHED_TOPIC: topicName('eventsEnriched'),
    });
    expect(fn('aggregate').Environment.Variables).toEqual({
      ...common('aggregate', topicName('dlqAggregate'), 'aggregateTable'),
      ENRICHED_TOPIC: topicName('eventsEnriched'),
      AGGREGATES_TOPIC: topicName('eventsAggregates'),
      WINDOWS: 'PT1M,PT1H',
      DIMENSIONS: 'type,country',
      ALLOWED_LATENESS_SECONDS: '300',
      OPENSEARCH_AUTH: 'iam',
      OPENSEARCH_ENDPOINT: expect.anything(),
      OPENSEARCH_INDEX_PREFIX: 'events-aggregates',
    });
    // The bootstrap string is the streaming stack's IAM one.
    expect(JSON.stringify(fn('enrich').Environment.Variables.BOOTSTRAP_BROKERS)).toContain(streaming);
  });

  test('DynamoDB permissions: items on the own table, Query on the enrich index only', () => {
    const dynamo = (c: 'enrich' | 'aggregate') =>
      ofType(events, 'AWS::IAM::Policy')
        .filter(([, r]) =>
          JSON.stringify(r.Properties.Roles).includes(
            stack.getLogicalId(stacks.events[c].function.role.node.defaultChild as never),
          ),
        )
        .flatMap(
          ([, r]) =>
            r.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
        )
        .filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')))
        .map((s) => ({ Action: s.Action, Resource: s.Resource }));
    const arn = (t: 'enrichTable' | 'aggregateTable') => ({ 'Fn::GetAtt': [tableId(t), 'Arn'] });
    expect(dynamo('enrich')).toEqual([
      {
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        Resource: arn('enrichTable'),
      },
      {
        Action: 'dynamodb:Query',
        Resource: { 'Fn::Join': ['', [arn('enrichTable'), '/index/byUser']] },
      },
    ]);
    expect(dynamo('aggregate')).toEqual([
      {
        // BatchGetItem: the consistent re-read of the windows it has just produced.
        Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        Resource: arn('aggregateTable'),
      },
    ]);
  });

  test('state tables: key schema, on demand, PITR, SSE with the platform key, TTL, retention', () => {
    const tables = Object.fromEntries(ofType(events, 'AWS::DynamoDB::Table'));
    const retained = envName === 'prod' ? 'Retain' : 'Delete';
    const base = {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: {
          'Fn::GetStackOutput': {
            StackName: streaming,
            Region: { Ref: 'AWS::Region' },
            OutputName: expect.stringMatching(/^PublishOutputFnGetAttPlatformKey.*Arn/),
          },
        },
      },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      Tags: tags,
    };
    expect(Object.keys(tables).sort()).toEqual([tableId('aggregateTable'), tableId('enrichTable')].sort());
    expect(tables[tableId('enrichTable')]).toEqual({
      Type: 'AWS::DynamoDB::Table',
      DeletionPolicy: retained,
      UpdateReplacePolicy: retained,
      Properties: {
        ...base,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'userId', AttributeType: 'S' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byUser',
            KeySchema: [
              { AttributeName: 'userId', KeyType: 'HASH' },
              { AttributeName: 'sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      },
    });
    expect(tables[tableId('aggregateTable')]).toEqual({
      Type: 'AWS::DynamoDB::Table',
      DeletionPolicy: retained,
      UpdateReplacePolicy: retained,
      Properties: {
        ...base,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
      },
    });
  });

  test('the stack is named after platform and environment', () => {
    expect(Stack.of(stacks.events.enrich).stackName).toBe(`streaming-${envName}-events`);
  });
});
