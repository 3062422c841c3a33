import type { CfnElement, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { renderTopicRule, telemetryBridge } from '../../lib/iot/telemetry-bridge';
import type { PlatformFunction } from '../../lib/lambda/platform-function';
import { configFor, ENVIRONMENTS, synthEnvironment, type SynthesizedEnvironment } from '../support/synth';
import { UNSCOPED_VPC_FUNCTION_STATEMENTS } from '../support/platform-function-statements';

type Rule = { Properties: { RuleName: string; TopicRulePayload: Record<string, any> } };
type Json = unknown;

/** The logical id of a construct's CloudFormation resource (its default child, or itself). */
function logicalId(stack: Stack, construct: IConstruct): string {
  return stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
}

/**
 * Replaces every cross-stack reference (`Fn::GetStackOutput`, `Fn::ImportValue`) with what it reads:
 * `{ fromStack, value }`, the producing stack's name and its output's value. Expectations can then
 * name the resource of the other stack, however the reference is carried.
 */
function resolveCrossStack(value: Json, producers: Record<string, Template>): Json {
  if (Array.isArray(value)) return value.map((v) => resolveCrossStack(v, producers));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, Json>;
  const outputs = (stackName: string) =>
    (producers[stackName]?.toJSON().Outputs ?? {}) as Record<
      string,
      { Value: Json; Export?: { Name: Json } }
    >;
  if ('Fn::GetStackOutput' in obj) {
    const { StackName, OutputName } = obj['Fn::GetStackOutput'] as { StackName: string; OutputName: string };
    const output = outputs(StackName)[OutputName];
    if (!output) throw new Error(`no output ${OutputName} in ${StackName}`);
    return { fromStack: StackName, value: output.Value };
  }
  if ('Fn::ImportValue' in obj) {
    for (const stackName of Object.keys(producers)) {
      const output = Object.values(outputs(stackName)).find(
        (o) => JSON.stringify(o.Export?.Name) === JSON.stringify(obj['Fn::ImportValue']),
      );
      if (output) return { fromStack: stackName, value: output.Value };
    }
    throw new Error(`no export ${JSON.stringify(obj['Fn::ImportValue'])}`);
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolveCrossStack(v, producers)]));
}

/** JSON text with object keys sorted at every level: equal values give equal text. */
function canonical(value: Json): string {
  return JSON.stringify(value, (_key, v: Json) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/** Statements (or policy documents) in a stable order: order has no meaning in IAM. */
function sortedStatements(statements: Json[]): Json[] {
  return [...statements].sort((a, b) => canonical(a).localeCompare(canonical(b)));
}

describe.each(ENVIRONMENTS)('MQTT bridge in %s', (envName) => {
  let synth: SynthesizedEnvironment;
  const config = configFor(envName);
  const ruleName = `streaming_${envName}_telemetry_raw`;
  const streamingStackName = `streaming-${envName}-streaming`;
  const rendered = renderTopicRule(telemetryBridge({ topicFilter: config.iot.topicFilter, ruleName }));
  beforeAll(() => {
    synth = synthEnvironment(envName);
  });
  const rule = (name: string) =>
    (Object.values(synth.sources.findResources('AWS::IoT::TopicRule')) as Rule[]).find(
      (r) => r.Properties.RuleName === name,
    )!;
  const resolved = (value: Json) => resolveCrossStack(value, { [streamingStackName]: synth.streaming });
  const bridge = () => synth.stacks.sources.iotBridge;
  const sourcesId = (construct: IConstruct) => logicalId(synth.stacks.sources, construct);
  const streamingId = (construct: IConstruct) => logicalId(synth.stacks.streaming, construct);
  const fromStreaming = (value: Json) => ({ fromStack: streamingStackName, value });
  const getAtt = (construct: IConstruct, attribute: string) => ({
    'Fn::GetAtt': [sourcesId(construct), attribute],
  });
  const bucketArn = () => getAtt(bridge().bucket, 'Arn');
  const bucketObjects = (prefix: string) => ({ 'Fn::Join': ['', [bucketArn(), `/${prefix}`]] });
  const platformKeyArn = () =>
    fromStreaming({ 'Fn::GetAtt': [streamingId(synth.stacks.streaming.key.key), 'Arn'] });
  /** The platform key, used through S3 only and for the bridge bucket only (its Bucket Key's context). */
  const keyViaS3ForBucket = (action: string | string[]) => ({
    Effect: 'Allow',
    Action: action,
    Resource: platformKeyArn(),
    Condition: {
      StringEquals: {
        'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
        'kms:EncryptionContext:aws:s3:arn': bucketArn(),
      },
    },
  });

  /** Every policy document attached to a role (inline `AWS::IAM::Policy`), cross-stack references resolved, in a stable order. */
  function rolePolicies(roleId: string): Json[] {
    const withRole = { Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) } };
    expect(synth.sources.findResources('AWS::IAM::ManagedPolicy', withRole)).toEqual({});
    const attached = Object.values(synth.sources.findResources('AWS::IAM::Policy', withRole)) as {
      Properties: { PolicyDocument: { Version: string; Statement: Json[] } };
    }[];
    return sortedStatements(
      attached.map(({ Properties: { PolicyDocument: document } }) => {
        const resolvedDocument = resolved(document) as { Version: string; Statement: Json[] };
        return { Version: resolvedDocument.Version, Statement: sortedStatements(resolvedDocument.Statement) };
      }),
    );
  }

  /** The one policy of a bridge role, which has no managed or inline role policies besides. */
  function rolePolicy(roleId: string): Json {
    const role = synth.sources.toJSON().Resources[roleId] as { Properties: Record<string, Json> };
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
    const policies = rolePolicies(roleId);
    expect(policies).toHaveLength(1);
    return policies[0];
  }

  test('the rule: SQL, SQL version, one Kafka action (topic, key, client properties) and the error action, exactly', () => {
    const ruleRoleArn = getAtt(bridge().node.findChild('RuleRole'), 'Arn');
    const secretArn = fromStreaming({ Ref: streamingId(synth.stacks.streaming.cluster.scramSecret) });
    const getSecret = (field: string) => ({
      'Fn::Join': ['', ["${get_secret('", secretArn, `', 'SecretString', '${field}', '`, ruleRoleArn, "')}"]],
    });
    expect(resolved(rule(ruleName).Properties.TopicRulePayload)).toEqual({
      Description: 'MQTT devices/+/telemetry -> Kafka telemetry.raw',
      Sql: "SELECT *, topic(2) AS deviceId, parse_time(\"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'\", timestamp(), \"UTC\") AS receivedAt FROM 'devices/+/telemetry'",
      AwsIotSqlVersion: '2016-03-23',
      RuleDisabled: false,
      Actions: [
        {
          Kafka: {
            DestinationArn: getAtt(bridge().destination, 'Arn'),
            Topic: 'telemetry.raw',
            Key: '${topic(2)}',
            ClientProperties: {
              'bootstrap.servers': fromStreaming({
                'Fn::GetAtt': [
                  streamingId(synth.stacks.streaming.bootstrapBrokers.lookup.node.findChild('Resource')),
                  'BootstrapBrokerStringSaslScram',
                ],
              }),
              'security.protocol': 'SASL_SSL',
              'sasl.mechanism': 'SCRAM-SHA-512',
              'sasl.scram.username': getSecret('username'),
              'sasl.scram.password': getSecret('password'),
              acks: '1',
            },
          },
        },
      ],
      ErrorAction: {
        S3: {
          BucketName: { Ref: sourcesId(bridge().bucket) },
          Key: `${ruleName}/\${parse_time("yyyy/MM/dd/HH", timestamp(), "UTC")}/\${timestamp()}-\${newuuid()}.json`,
          RoleArn: ruleRoleArn,
        },
      },
    });
    // The construct and the local bridge render from the same definition.
    expect(rendered.sql).toBe(rule(ruleName).Properties.TopicRulePayload.Sql);
  });

  test('the rule role reads only the SCRAM secret (and decrypts it through Secrets Manager) and writes only its error prefix (a data key through S3)', () => {
    const roleId = sourcesId(bridge().node.findChild('RuleRole'));
    expect(rolePolicy(roleId)).toEqual({
      Version: '2012-10-17',
      Statement: sortedStatements([
        {
          Effect: 'Allow',
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Resource: fromStreaming({ Ref: streamingId(synth.stacks.streaming.cluster.scramSecret) }),
        },
        {
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: fromStreaming({ 'Fn::GetAtt': [streamingId(synth.stacks.streaming.key.key), 'Arn'] }),
          Condition: {
            StringEquals: {
              'kms:ViaService': {
                'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
              },
            },
          },
        },
        {
          Effect: 'Allow',
          Action: 's3:PutObject',
          Resource: bucketObjects(`${ruleName}/*`),
        },
        keyViaS3ForBucket('kms:GenerateDataKey'),
      ]),
    });
  });

  test('the capture role may only put records into the capture stream', () => {
    const roleId = sourcesId(bridge().node.findChild('CaptureRole'));
    expect(rolePolicy(roleId)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
          Resource: getAtt(bridge().node.findChild('RawCapture'), 'Arn'),
        },
      ],
    });
  });

  test('the capture delivery role may only list the bridge bucket and write its raw-capture prefixes (the key through S3)', () => {
    const roleId = sourcesId(bridge().node.findChild('CaptureDeliveryRole'));
    expect(rolePolicy(roleId)).toEqual({
      Version: '2012-10-17',
      Statement: sortedStatements([
        {
          Effect: 'Allow',
          Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
          Resource: bucketArn(),
        },
        {
          Effect: 'Allow',
          Action: ['s3:AbortMultipartUpload', 's3:PutObject'],
          Resource: [bucketObjects('raw-capture-errors/*'), bucketObjects('raw-capture/*')],
        },
        keyViaS3ForBucket(['kms:Decrypt', 'kms:GenerateDataKey']),
      ]),
    });
  });

  test("the capture stream's buffer is encrypted with the platform key; its objects take the bucket's default encryption", () => {
    const streams = Object.values(synth.sources.findResources('AWS::KinesisFirehose::DeliveryStream')) as {
      Properties: {
        DeliveryStreamEncryptionConfigurationInput: Json;
        ExtendedS3DestinationConfiguration: Record<string, Json>;
      };
    }[];
    expect(streams).toHaveLength(1);
    expect(resolved(streams[0]!.Properties.DeliveryStreamEncryptionConfigurationInput)).toEqual({
      KeyType: 'CUSTOMER_MANAGED_CMK',
      KeyARN: platformKeyArn(),
    });
    expect(streams[0]!.Properties.ExtendedS3DestinationConfiguration.EncryptionConfiguration).toBeUndefined();
  });

  test('the roles are assumed only by IoT (or Firehose) for this account', () => {
    const trust = (service: string, condition: Json) => ({
      Version: '2012-10-17',
      Statement: [
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: service }, Condition: condition },
      ],
    });
    const account = { Ref: 'AWS::AccountId' };
    const roles = synth.sources.toJSON().Resources as Record<
      string,
      { Properties: { AssumeRolePolicyDocument: Json } }
    >;
    for (const id of ['RuleRole', 'CaptureRole', 'DestinationRole']) {
      expect(roles[sourcesId(bridge().node.findChild(id))]!.Properties.AssumeRolePolicyDocument).toEqual(
        trust('iot.amazonaws.com', { StringEquals: { 'aws:SourceAccount': account } }),
      );
    }
    expect(
      roles[sourcesId(bridge().node.findChild('CaptureDeliveryRole'))]!.Properties.AssumeRolePolicyDocument,
    ).toEqual(trust('firehose.amazonaws.com', { StringEquals: { 'sts:ExternalId': account } }));
  });

  test('the ACL function may connect to and alter only the cluster and write only its log group; unscoped actions stand apart', () => {
    const apply = bridge().acls.node.findChild('Apply') as PlatformFunction;
    const role = synth.sources.toJSON().Resources[sourcesId(apply.role)] as {
      Properties: Record<string, Json>;
    };
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
    expect(rolePolicies(sourcesId(apply.role))).toEqual(
      sortedStatements([
        {
          Version: '2012-10-17',
          Statement: sortedStatements([
            {
              Effect: 'Allow',
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              Resource: getAtt(apply.logGroup, 'Arn'),
            },
            {
              Effect: 'Allow',
              Action: [
                'kafka-cluster:AlterCluster',
                'kafka-cluster:Connect',
                'kafka-cluster:DescribeCluster',
              ],
              Resource: fromStreaming({
                'Fn::GetAtt': [streamingId(synth.stacks.streaming.cluster.cluster), 'Arn'],
              }),
            },
          ]),
        },
        {
          Version: '2012-10-17',
          Statement: sortedStatements([...UNSCOPED_VPC_FUNCTION_STATEMENTS]),
        },
      ]),
    );
    const fn = synth.sources.toJSON().Resources[sourcesId(apply.fn)] as {
      Properties: { Environment: { Variables: Record<string, Json> } };
    };
    expect(resolved(fn.Properties.Environment.Variables)).toMatchObject({
      KAFKA_AUTH: 'iam',
      BOOTSTRAP_BROKERS: fromStreaming({
        'Fn::GetAtt': [
          streamingId(synth.stacks.streaming.bootstrapBrokers.lookup.node.findChild('Resource')),
          'BootstrapBrokerStringSaslIam',
        ],
      }),
    });
  });

  test('the provider framework may only invoke and read the ACL function', () => {
    const apply = bridge().acls.node.findChild('Apply') as PlatformFunction;
    const providerRole = bridge()
      .acls.node.findChild('Provider')
      .node.findChild('framework-onEvent')
      .node.findChild('ServiceRole');
    const fnArn = getAtt(apply.fn, 'Arn');
    expect(rolePolicies(sourcesId(providerRole))).toEqual([
      {
        Version: '2012-10-17',
        Statement: sortedStatements([
          {
            Effect: 'Allow',
            Action: 'lambda:InvokeFunction',
            Resource: [fnArn, { 'Fn::Join': ['', [fnArn, ':*']] }],
          },
          { Effect: 'Allow', Action: 'lambda:GetFunction', Resource: fnArn },
        ]),
      },
    ]);
    const role = synth.sources.toJSON().Resources[sourcesId(providerRole)] as {
      Properties: Record<string, Json>;
    };
    expect(role.Properties.ManagedPolicyArns).toEqual([
      {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
        ],
      },
    ]);
  });

  test('a binary-safe capture rule keeps every message for the payloads the rule cannot parse', () => {
    const capture = rule(`${ruleName}_capture`).Properties.TopicRulePayload;
    expect(capture.Sql).toBe(rendered.rawCaptureSql);
    const streamId = Object.keys(synth.sources.findResources('AWS::KinesisFirehose::DeliveryStream'))[0];
    expect(capture.Actions[0].Firehose).toMatchObject({
      DeliveryStreamName: { Ref: streamId },
      Separator: '\n',
    });
    synth.sources.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        Prefix: Match.stringLikeRegexp('^raw-capture/'),
        CompressionFormat: 'GZIP',
      }),
    });
  });

  test('the VPC destination uses the private subnets and the bridge security group, after its role policy', () => {
    const destinations = synth.sources.findResources('AWS::IoT::TopicRuleDestination');
    const [, destination] = Object.entries(destinations)[0] as [
      string,
      { Properties: any; DependsOn: string[] },
    ];
    expect(destination.Properties.VpcProperties.SubnetIds).toHaveLength(config.network.maxAzs);
    expect(destination.Properties.VpcProperties.SecurityGroups).toHaveLength(1);
    expect(destination.DependsOn.some((d) => d.startsWith('IotBridgeDestinationPolicy'))).toBe(true);
  });

  test('devices may connect only as their own thing and publish only their own telemetry topic: the whole policy', () => {
    const arn = (resource: string) => ({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':iot:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          `:${resource}`,
        ],
      ],
    });
    const policies = Object.values(synth.sources.findResources('AWS::IoT::Policy')) as {
      Properties: { PolicyName: string; PolicyDocument: Json };
    }[];
    expect(policies.map((p) => p.Properties.PolicyName)).toEqual([
      `streaming-${envName}-telemetry-publisher`,
    ]);
    expect(policies[0]!.Properties.PolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'iot:Connect',
          Resource: arn('client/${iot:Connection.Thing.ThingName}'),
          Condition: { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } },
        },
        {
          Effect: 'Allow',
          Action: 'iot:Publish',
          Resource: arn('topic/devices/${iot:Connection.Thing.ThingName}/telemetry'),
        },
      ],
    });
  });

  test('the bridge bucket: SSE-KMS with the platform key and an S3 Bucket Key; its access log bucket: SSE-S3', () => {
    const encryption = (construct: IConstruct) =>
      resolved(
        (synth.sources.toJSON().Resources[sourcesId(construct)] as { Properties: Record<string, Json> })
          .Properties.BucketEncryption,
      );
    expect(encryption(bridge().bucket)).toEqual({
      ServerSideEncryptionConfiguration: [
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: platformKeyArn() },
        },
      ],
    });
    // The only default encryption S3 server access logging supports for its target bucket.
    expect(encryption(bridge().node.findChild('AccessLogs'))).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  test('the bridge bucket is encrypted, TLS-only, versioned and retained', () => {
    synth.sources.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: Match.anyValue(),
      }),
    });
    synth.sources.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      }),
    });
  });
});

describe('the bridge user ACLs', () => {
  const { sources } = synthEnvironment('dev');

  test('the SCRAM user may write and describe telemetry.raw, nothing else, before the rule runs', () => {
    const acl = Object.entries(sources.findResources('Custom::KafkaAcls'));
    expect(acl).toHaveLength(1);
    const [id, resource] = acl[0] as [string, { Properties: { Acls: string } }];
    expect(JSON.parse(resource.Properties.Acls)).toEqual([
      {
        resourceType: 'TOPIC',
        resourceName: 'telemetry.raw',
        patternType: 'LITERAL',
        principal: 'User:iot-bridge',
        host: '*',
        operation: 'WRITE',
        permission: 'ALLOW',
      },
      {
        resourceType: 'TOPIC',
        resourceName: 'telemetry.raw',
        patternType: 'LITERAL',
        principal: 'User:iot-bridge',
        host: '*',
        operation: 'DESCRIBE',
        permission: 'ALLOW',
      },
    ]);
    const rule = Object.values(
      sources.findResources('AWS::IoT::TopicRule', {
        Properties: { RuleName: 'streaming_dev_telemetry_raw' },
      }),
    )[0] as { DependsOn: string[] };
    expect(rule.DependsOn).toContain(id);
  });
});
