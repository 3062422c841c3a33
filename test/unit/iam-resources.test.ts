/**
 * The Kafka, Secrets Manager, KMS, DynamoDB and OpenSearch permissions of every role in every stack,
 * compared whole with the table below, written by hand. A statement widened to `*` or to another topic, group, secret
 * or key, a new role with such permissions, or a lost one fails here (not only in a snapshot).
 * Resources are rendered readably by test/support/template-graph.ts: `{<stack>/<construct path>.<attribute>}`.
 */
import { topicName } from '../../lib/topics/topic-specs';
import { ENVIRONMENTS } from '../support/synth';
import { environmentTemplates, rolePermissions } from '../support/template-graph';

const CLUSTER = '{streaming/Kafka/Cluster.Arn}';
const TOPIC = (name: string) => `{streaming/Kafka/TopicArnPrefixParameter.Value}${name}`;
const GROUP = (name: string) => `{streaming/Kafka/GroupArnPrefixParameter.Value}${name}`;
const KEY_VIA_SECRETS_MANAGER =
  '{streaming/PlatformKey/Key.Arn} (if StringEquals kms:ViaService secretsmanager.${AWS::Region}.amazonaws.com)';
const KEY_VIA_S3 =
  '{streaming/PlatformKey/Key.Arn} (if StringEquals kms:ViaService s3.${AWS::Region}.amazonaws.com)';
/** The platform key through S3, for the MQTT bridge bucket only (with its S3 Bucket Key, the context is the bucket's ARN). */
const KEY_VIA_S3_FOR_BRIDGE_BUCKET =
  '{streaming/PlatformKey/Key.Arn} (if StringEquals kms:ViaService s3.${AWS::Region}.amazonaws.com, StringEquals kms:EncryptionContext:aws:s3:arn {sources/IotBridge/Bucket.Arn})';
const KEY_VIA_DYNAMODB =
  '{streaming/PlatformKey/Key.Arn} (if StringEquals kms:ViaService dynamodb.${AWS::Region}.amazonaws.com)';
const KEY_VIA_SNS =
  '{streaming/PlatformKey/Key.Arn} (if StringEquals kms:ViaService sns.${AWS::Region}.amazonaws.com, StringEquals kms:EncryptionContext:aws:sns:topicArn {telemetry/Alerting/Topic})';
const ALERTING_TABLE = '{telemetry/Alerting/State/Table.Arn}';
/** What an MSK consumer of the events path may do besides its own topics and groups. */
const MSK_CONSUMER_COMMON = {
  'kafka-cluster:Connect': [CLUSTER],
  'kafka-cluster:DescribeCluster': [CLUSTER],
  'kafka-cluster:WriteDataIdempotently': [CLUSTER],
  'kafka-cluster:DescribeClusterDynamicConfiguration': [CLUSTER],
  'kafka:DescribeClusterV2': [CLUSTER],
  'kafka:GetBootstrapBrokers': [CLUSTER],
  'kms:Decrypt': [KEY_VIA_DYNAMODB],
  'kms:Encrypt': [KEY_VIA_DYNAMODB],
  'kms:GenerateDataKey': [KEY_VIA_DYNAMODB],
};
const ENRICH_TABLE = '{events/EnrichState/Table.Arn}';
const AGGREGATE_TABLE = '{events/AggregateState/Table.Arn}';
/** The search domain's ARN (its name is fixed, `<platform>-<env>-events`). */
const DOMAIN = (envName: string) =>
  `arn:\${AWS::Partition}:es:\${AWS::Region}:\${AWS::AccountId}:domain/streaming-${envName}-events`;
/** The OpenSearch permissions: the aggregate function posts bulks only; the set-up reads and puts. */
const SEARCH_EXPECTED = (envName: string): Record<string, Record<string, string[]>> => ({
  'events/Aggregate/Consumer/Role': {
    'es:ESHttpPost': [`${DOMAIN(envName)}/_bulk`],
  },
  'events/Search/Setup/Role': {
    'es:ESHttpGet': [`${DOMAIN(envName)}/*`],
    'es:ESHttpPut': [`${DOMAIN(envName)}/*`],
  },
});
const REPLICATION_SECRET = '{sources/OrdersCdc/DatabaseSetup/ReplicationSecret}';
const MASTER_SECRET = '{sources/OrdersCdc/Database/Secret/Attachment}';

const EXPECTED: Record<string, Record<string, string[]>> = {
  'streaming/BootstrapBrokers/LookupRole': {
    'kafka:GetBootstrapBrokers': [CLUSTER],
  },
  'sources/EventIngest/Ingest/Role': {
    'kafka-cluster:Connect': [CLUSTER],
    'kafka-cluster:DescribeCluster': [CLUSTER],
    'kafka-cluster:WriteDataIdempotently': [CLUSTER],
    'kafka-cluster:DescribeTopic': [TOPIC('events.user')],
    'kafka-cluster:WriteData': [TOPIC('events.user')],
  },
  'sources/OrdersCdc/Role': {
    'kafka-cluster:Connect': [CLUSTER],
    'kafka-cluster:DescribeCluster': [CLUSTER],
    'kafka-cluster:WriteDataIdempotently': [CLUSTER],
    'kafka-cluster:DescribeTopic': [
      TOPIC('__amazon_msk_connect_*'),
      TOPIC('cdc.connect-offsets'),
      TOPIC('cdc.heartbeat.orders'),
      TOPIC('cdc.orders'),
    ],
    'kafka-cluster:WriteData': [
      TOPIC('__amazon_msk_connect_*'),
      TOPIC('cdc.connect-offsets'),
      TOPIC('cdc.heartbeat.orders'),
      TOPIC('cdc.orders'),
    ],
    'kafka-cluster:ReadData': [TOPIC('__amazon_msk_connect_*'), TOPIC('cdc.connect-offsets')],
    'kafka-cluster:DescribeTopicDynamicConfiguration': [
      TOPIC('__amazon_msk_connect_*'),
      TOPIC('cdc.connect-offsets'),
    ],
    'kafka-cluster:CreateTopic': [TOPIC('__amazon_msk_connect_*')],
    'kafka-cluster:AlterGroup': [GROUP('__amazon_msk_connect_*'), GROUP('connect-*')],
    'kafka-cluster:DescribeGroup': [GROUP('__amazon_msk_connect_*'), GROUP('connect-*')],
    'secretsmanager:GetSecretValue': [REPLICATION_SECRET],
    'secretsmanager:DescribeSecret': [REPLICATION_SECRET],
    'kms:Decrypt': [KEY_VIA_SECRETS_MANAGER],
  },
  'sources/OrdersCdc/DatabaseSetup/Function/Role': {
    'secretsmanager:GetSecretValue': [MASTER_SECRET, REPLICATION_SECRET],
    'secretsmanager:DescribeSecret': [MASTER_SECRET, REPLICATION_SECRET],
    'kms:Decrypt': [KEY_VIA_SECRETS_MANAGER],
  },
  'sources/IotBridge/RuleRole': {
    'secretsmanager:GetSecretValue': ['{streaming/Kafka/IotBridgeScram}'],
    'secretsmanager:DescribeSecret': ['{streaming/Kafka/IotBridgeScram}'],
    'kms:Decrypt': [KEY_VIA_SECRETS_MANAGER],
    // The error action's PutObject into the SSE-KMS bridge bucket.
    'kms:GenerateDataKey': [KEY_VIA_S3_FOR_BRIDGE_BUCKET],
  },
  // Firehose's deliveries into the SSE-KMS bridge bucket (multipart uploads need Decrypt too). The
  // stream's own encryption needs no role permission: Firehose uses a grant of its own.
  'sources/IotBridge/CaptureDeliveryRole': {
    'kms:Decrypt': [KEY_VIA_S3_FOR_BRIDGE_BUCKET],
    'kms:GenerateDataKey': [KEY_VIA_S3_FOR_BRIDGE_BUCKET],
  },
  'events/Enrich/Consumer/Role': {
    ...MSK_CONSUMER_COMMON,
    'kafka-cluster:AlterGroup': [
      GROUP(`enrich-${topicName('cdcOrders')}`),
      GROUP(`enrich-${topicName('eventsUser')}`),
    ],
    'kafka-cluster:DescribeGroup': [
      GROUP(`enrich-${topicName('cdcOrders')}`),
      GROUP(`enrich-${topicName('eventsUser')}`),
    ],
    'kafka-cluster:DescribeTopic': [
      TOPIC(topicName('cdcOrders')),
      TOPIC(topicName('dlqEnrich')),
      TOPIC(topicName('eventsEnriched')),
      TOPIC(topicName('eventsUser')),
    ],
    'kafka-cluster:ReadData': [TOPIC(topicName('cdcOrders')), TOPIC(topicName('eventsUser'))],
    'kafka-cluster:WriteData': [TOPIC(topicName('dlqEnrich')), TOPIC(topicName('eventsEnriched'))],
    'dynamodb:GetItem': [ENRICH_TABLE],
    'dynamodb:PutItem': [ENRICH_TABLE],
    'dynamodb:UpdateItem': [ENRICH_TABLE],
    'dynamodb:Query': [`${ENRICH_TABLE}/index/byUser`],
  },
  'events/Aggregate/Consumer/Role': {
    ...MSK_CONSUMER_COMMON,
    'kafka-cluster:AlterGroup': [GROUP(`aggregate-${topicName('eventsEnriched')}`)],
    'kafka-cluster:DescribeGroup': [GROUP(`aggregate-${topicName('eventsEnriched')}`)],
    'kafka-cluster:DescribeTopic': [
      TOPIC(topicName('dlqAggregate')),
      TOPIC(topicName('eventsAggregates')),
      TOPIC(topicName('eventsEnriched')),
    ],
    'kafka-cluster:ReadData': [TOPIC(topicName('eventsEnriched'))],
    'kafka-cluster:WriteData': [TOPIC(topicName('dlqAggregate')), TOPIC(topicName('eventsAggregates'))],
    'dynamodb:BatchGetItem': [AGGREGATE_TABLE],
    'dynamodb:GetItem': [AGGREGATE_TABLE],
    'dynamodb:PutItem': [AGGREGATE_TABLE],
    'dynamodb:UpdateItem': [AGGREGATE_TABLE],
  },
  'telemetry/Alerting/Consumer/Consumer/Role': {
    ...MSK_CONSUMER_COMMON,
    'kafka-cluster:AlterGroup': [GROUP(`alerting-${topicName('telemetryAlerts')}`)],
    'kafka-cluster:DescribeGroup': [GROUP(`alerting-${topicName('telemetryAlerts')}`)],
    'kafka-cluster:DescribeTopic': [TOPIC(topicName('dlqAlerting')), TOPIC(topicName('telemetryAlerts'))],
    'kafka-cluster:ReadData': [TOPIC(topicName('telemetryAlerts'))],
    'kafka-cluster:WriteData': [TOPIC(topicName('dlqAlerting'))],
    'dynamodb:DeleteItem': [ALERTING_TABLE],
    'dynamodb:GetItem': [ALERTING_TABLE],
    'dynamodb:PutItem': [ALERTING_TABLE],
    'dynamodb:UpdateItem': [ALERTING_TABLE],
    'kms:Decrypt': [KEY_VIA_DYNAMODB, KEY_VIA_SNS],
    'kms:GenerateDataKey': [KEY_VIA_DYNAMODB, KEY_VIA_SNS],
    'sns:Publish': ['{telemetry/Alerting/Topic}'],
  },
  'telemetry/Sessionize/ServiceRole': {
    'kafka-cluster:Connect': [CLUSTER],
    'kafka-cluster:DescribeCluster': [CLUSTER],
    'kafka-cluster:WriteDataIdempotently': [CLUSTER],
    'kafka-cluster:AlterGroup': [GROUP(`sessionize-${topicName('telemetryRaw')}`)],
    'kafka-cluster:DescribeGroup': [GROUP(`sessionize-${topicName('telemetryRaw')}`)],
    'kafka-cluster:DescribeTopic': [
      TOPIC(topicName('dlqSessionize')),
      TOPIC(topicName('telemetryAlerts')),
      TOPIC(topicName('telemetryRaw')),
    ],
    'kafka-cluster:ReadData': [TOPIC(topicName('telemetryRaw'))],
    'kafka-cluster:WriteData': [TOPIC(topicName('dlqSessionize')), TOPIC(topicName('telemetryAlerts'))],
    'kms:Decrypt': [KEY_VIA_S3],
    'kms:GenerateDataKey': [KEY_VIA_S3],
  },
  'sources/IotBridge/Acls/Apply/Role': {
    'kafka-cluster:Connect': [CLUSTER],
    'kafka-cluster:DescribeCluster': [CLUSTER],
    'kafka-cluster:AlterCluster': [CLUSTER],
  },
};

const GUARDED = /^(kafka-cluster|kafka|secretsmanager|kms|dynamodb|es|sns):/i;

function expectedIn(envName: string): Record<string, Record<string, string[]>> {
  const table = { ...EXPECTED };
  for (const [role, actions] of Object.entries(SEARCH_EXPECTED(envName))) {
    table[role] = { ...table[role], ...actions };
  }
  return table;
}

describe.each(ENVIRONMENTS)('IAM resources in %s', (envName) => {
  const permissions = rolePermissions(environmentTemplates(envName), (action) => GUARDED.test(action));
  const guarded = Object.fromEntries(
    Object.entries(permissions)
      .map(([role, actions]) => [role, actions] as const)
      .filter(([, actions]) => Object.keys(actions).length > 0),
  );

  test('the Kafka, secret, key, DynamoDB, OpenSearch and SNS permissions of every role are exactly the expected ones', () => {
    const sorted = (table: Record<string, Record<string, string[]>>) =>
      Object.fromEntries(
        Object.entries(table).map(([role, actions]) => [
          role,
          Object.fromEntries(Object.entries(actions).map(([a, r]) => [a, [...r].sort()])),
        ]),
      );
    expect(sorted(guarded)).toEqual(sorted(expectedIn(envName)));
  });

  test('no role may use Kafka, Secrets Manager, KMS, DynamoDB, OpenSearch or SNS on every resource (`*`)', () => {
    const wildcards = Object.entries(guarded).flatMap(([role, actions]) =>
      Object.entries(actions)
        .filter(([, resources]) => resources.some((r) => r === '*' || r.startsWith('* ')))
        .map(([action]) => `${role}: ${action}`),
    );
    expect(wildcards).toEqual([]);
  });
});

/**
 * The telemetry path's roles, every action (S3, logs, EC2, the Flink control plane included), written
 * out by hand: the sessionize job's service execution role and the start resource's functions.
 */
describe.each(ENVIRONMENTS)('telemetry roles in %s', (envName) => {
  const templates = environmentTemplates(envName);
  const permissions = rolePermissions(templates);
  const LAKE = '{telemetry/Lake/Bucket.Arn}';
  const LOGS = (rest: string) =>
    `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${rest}`;
  const APPLICATION = `arn:\${AWS::Partition}:kinesisanalytics:\${AWS::Region}:\${AWS::AccountId}:application/streaming-${envName}-sessionize`;

  test('the sessionize job: its topics and group, sessions/ in the lake, the key via S3, its jar, its log, its network interfaces', () => {
    const role = permissions['telemetry/Sessionize/ServiceRole']!;
    // The jar object: the assets bucket and the asset's key (its hash is the sources' hash).
    const jar = role['s3:GetObject']!.find((r) => !r.startsWith(LAKE));
    expect(jar).toMatch(
      /^arn:\$\{AWS::Partition\}:s3:::\{"Fn::Sub":"cdk-hnb659fds-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}"\}\/[0-9a-f]{64}\.(zip|jar)$/,
    );
    const sorted = (table: Record<string, string[]>) =>
      Object.fromEntries(Object.entries(table).map(([a, r]) => [a, [...r].sort()]));
    expect(sorted(role)).toEqual(
      sorted({
        ...EXPECTED['telemetry/Sessionize/ServiceRole'],
        // No s3:prefix condition: a HEAD of a missing key must get 404, not 403 (the comment in
        // lib/telemetry/sessionize-application.ts).
        's3:ListBucket': [LAKE],
        's3:GetObject': [`${LAKE}/sessions/*`, jar!],
        's3:PutObject': [`${LAKE}/sessions/*`],
        's3:DeleteObject': [`${LAKE}/sessions/*`],
        's3:AbortMultipartUpload': [`${LAKE}/sessions/*`],
        's3:ListMultipartUploadParts': [`${LAKE}/sessions/*`],
        'logs:DescribeLogStreams': [LOGS('{telemetry/Sessionize/Logs}:log-stream:*')],
        'logs:PutLogEvents': [
          LOGS('{telemetry/Sessionize/Logs}:log-stream:{telemetry/Sessionize/LogStream}'),
        ],
        'logs:DescribeLogGroups': [LOGS('*')],
        'ec2:DescribeVpcs': ['*'],
        'ec2:DescribeSubnets': ['*'],
        'ec2:DescribeSecurityGroups': ['*'],
        'ec2:DescribeDhcpOptions': ['*'],
        'ec2:CreateNetworkInterface': ['*'],
        'ec2:CreateNetworkInterfacePermission': ['*'],
        'ec2:DescribeNetworkInterfaces': ['*'],
        'ec2:DeleteNetworkInterface': ['*'],
      }),
    );
  });

  test('the start functions may describe, list snapshots of and start that one application only', () => {
    const fn = (name: string) => ({
      'logs:CreateLogStream': [`{telemetry/Sessionize/${name}/Logs.Arn}`],
      'logs:PutLogEvents': [`{telemetry/Sessionize/${name}/Logs.Arn}`],
      'xray:PutTelemetryRecords': ['*'],
      'xray:PutTraceSegments': ['*'],
    });
    expect(permissions['telemetry/Sessionize/StartOnEvent/Role']).toEqual({
      ...fn('StartOnEvent'),
      'kinesisanalytics:DescribeApplication': [APPLICATION],
      'kinesisanalytics:ListApplicationSnapshots': [APPLICATION],
      'kinesisanalytics:StartApplication': [APPLICATION],
    });
    expect(permissions['telemetry/Sessionize/StartIsComplete/Role']).toEqual({
      ...fn('StartIsComplete'),
      'kinesisanalytics:DescribeApplication': [APPLICATION],
    });
  });

  test("only the job and the start functions touch the application, the lake or its key via S3 (and the bridge bucket's writers, the key for that bucket only)", () => {
    const touching = Object.entries(permissions)
      .filter(([, actions]) =>
        Object.entries(actions).some(
          ([action, resources]) =>
            action.startsWith('kinesisanalytics:') ||
            resources.some((r) => r.includes('{telemetry/Lake/') || r.includes('kms:ViaService s3.')),
        ),
      )
      .map(([role]) => role)
      .sort();
    expect(touching).toEqual([
      'sources/IotBridge/CaptureDeliveryRole',
      'sources/IotBridge/RuleRole',
      'telemetry/Sessionize/ServiceRole',
      'telemetry/Sessionize/StartIsComplete/Role',
      'telemetry/Sessionize/StartOnEvent/Role',
    ]);
  });
});
