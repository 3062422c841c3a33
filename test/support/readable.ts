/**
 * Template values in the form a test writes by hand: local references without CDK's hash suffix,
 * references to other stacks' outputs as named placeholders, MSK Connect specifications parsed.
 */

export type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };

/** A logical id without CDK's 8-character hash suffix. */
export const stem = (id: string) => id.replace(/[0-9A-F]{8}$/, '');

/**
 * A template value with references made readable: a local Ref/GetAtt loses the logical id's hash,
 * and a reference to another stack's output becomes a named placeholder, so that the expected
 * policies below are written by hand in the form the template shows.
 */
export function readable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(readable);
  if (value === null || typeof value !== 'object') return value;
  const v = value as Record<string, unknown>;
  const crossStack =
    (v['Fn::GetStackOutput'] as { OutputName?: string } | undefined)?.OutputName ??
    (v['Fn::ImportValue'] as string | undefined);
  if (typeof crossStack === 'string') {
    for (const [needle, name] of [
      ['TopicArnPrefix', '<topic ARN prefix>'],
      ['GroupArnPrefix', '<group ARN prefix>'],
      ['PlatformKey', '<platform key ARN>'],
      ['Bootstrap', '<IAM bootstrap brokers>'],
      ['KafkaCluster', '<cluster ARN>'],
    ] as const)
      if (crossStack.includes(needle)) return name;
    return `<${crossStack}>`;
  }
  if (typeof v.Ref === 'string' && !v.Ref.startsWith('AWS::')) return { Ref: stem(v.Ref) };
  if (Array.isArray(v['Fn::GetAtt'])) {
    const [id, attr] = v['Fn::GetAtt'] as [string, string];
    return { 'Fn::GetAtt': [stem(id), attr] };
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, readable(x)]));
}

/** A `Fn::Join` of JSON text and references, parsed, with each reference as `<readable JSON>`. */
export function joinedJson(value: unknown): Record<string, unknown> {
  const join = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const text = join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const r = readable(part);
      return JSON.stringify(typeof r === 'string' ? r : JSON.stringify(r)).slice(1, -1);
    })
    .join(join[0]);
  return JSON.parse(text) as Record<string, unknown>;
}

export const topicArn = (topic: string) => ({ 'Fn::Join': ['', ['<topic ARN prefix>', topic]] });
export const groupArn = (group: string) => ({ 'Fn::Join': ['', ['<group ARN prefix>', group]] });

/** The statements grantMskConnectInternals adds to a connector's role, written out by hand. */
export const MSK_CONNECT_INTERNALS_STATEMENTS = [
  {
    Action: [
      'kafka-cluster:CreateTopic',
      'kafka-cluster:DescribeTopic',
      'kafka-cluster:DescribeTopicDynamicConfiguration',
      'kafka-cluster:ReadData',
      'kafka-cluster:WriteData',
    ],
    Effect: 'Allow',
    Resource: topicArn('__amazon_msk_connect_*'),
  },
  {
    Action: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
    Effect: 'Allow',
    Resource: [groupArn('__amazon_msk_connect_*'), groupArn('connect-*')],
  },
];

/** The CDK bootstrap's asset bucket, as a template names it (written out by hand). */
export const ASSET_BUCKET_ARN = {
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':s3:::',
      { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' },
    ],
  ],
};

/**
 * A connector worker configuration up to the provider's region parameter, written out by hand: JSON
 * converters without schemas, the platform's Secrets Manager config provider.
 */
export const WORKER_PROPERTIES_BEFORE_REGION =
  'key.converter=org.apache.kafka.connect.json.JsonConverter\nkey.converter.schemas.enable=false\n' +
  'value.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=false\n' +
  'config.providers=secretsmanager\n' +
  'config.providers.secretsmanager.class=platform.connect.config.SecretsManagerConfigProvider\n' +
  'config.providers.secretsmanager.param.region=';
