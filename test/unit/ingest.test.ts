import { Match, type Template } from 'aws-cdk-lib/assertions';
import { ConfigError } from '../../lib/config/errors';
import { loadEnvironments } from '../../lib/config/platform-config';
import {
  cdkJsonContext,
  configFor,
  ENVIRONMENTS,
  synthEnvironment,
  type SynthesizedEnvironment,
} from '../support/synth';

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] } & Record<
  string,
  unknown
>;

function ingestFunction(template: Template): Resource {
  const fns = Object.values(template.findResources('AWS::Lambda::Function')).filter((f) =>
    JSON.stringify(f).includes('EVENTS_TOPIC'),
  ) as Resource[];
  expect(fns).toHaveLength(1);
  return fns[0]!;
}

describe.each(ENVIRONMENTS)('app-event ingest in %s', (envName) => {
  let synth: SynthesizedEnvironment;
  const config = configFor(envName);
  beforeAll(() => {
    synth = synthEnvironment(envName);
  });

  test('POST /events requires IAM authorization and proxies to the ingest function', () => {
    synth.sources.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'events' });
    const methods = Object.values(synth.sources.findResources('AWS::ApiGateway::Method')) as Resource[];
    expect(methods).toHaveLength(1);
    const fnId = Object.keys(synth.sources.findResources('AWS::Lambda::Function')).find((id) =>
      id.startsWith('EventIngestFunction'),
    );
    expect(methods[0]!.Properties).toMatchObject({
      HttpMethod: 'POST',
      AuthorizationType: 'AWS_IAM',
      Integration: {
        IntegrationHttpMethod: 'POST',
        Type: 'AWS_PROXY',
        Uri: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':apigateway:',
              { Ref: 'AWS::Region' },
              ':lambda:path/2015-03-31/functions/',
              { 'Fn::GetAtt': [fnId, 'Arn'] },
              '/invocations',
            ],
          ],
        },
      },
    });
  });

  test('stage throttling, access logs and tracing per environment', () => {
    synth.sources.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          ThrottlingRateLimit: config.ingest.throttleRateLimit,
          ThrottlingBurstLimit: config.ingest.throttleBurstLimit,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
        }),
      ]),
    });
    // Access logs go to the construct's own log group.
    const [stage] = Object.values(synth.sources.findResources('AWS::ApiGateway::Stage')) as Resource[];
    expect(JSON.stringify(stage!.Properties.AccessLogSetting.DestinationArn)).toMatch(
      /"Ref":"EventIngestAccessLogs/,
    );
  });

  test('the function runs in the VPC with the ingest security group, on ARM64 Node.js 24', () => {
    const ingestSg = synth.stacks.network.resolve(
      synth.stacks.network.network.securityGroup('ingest').securityGroupId,
    );
    const fn = Object.values(synth.sources.findResources('AWS::Lambda::Function')).find((f) =>
      JSON.stringify(f).includes('EVENTS_TOPIC'),
    ) as { Properties: Record<string, unknown> & { VpcConfig: { SecurityGroupIds: unknown[] } } };
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: config.ingest.memoryMiB,
      TracingConfig: { Mode: 'Active' },
    });
    expect(fn.Properties.VpcConfig.SecurityGroupIds).toHaveLength(1);
    const sgLogicalId = (ingestSg as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    expect(JSON.stringify(fn.Properties.VpcConfig.SecurityGroupIds)).toContain(sgLogicalId);
  });

  test('the function gets the catalog topic, batch limit, message size limit and IAM bootstrap brokers', () => {
    const variables = ingestFunction(synth.sources).Properties.Environment.Variables as Record<
      string,
      unknown
    >;
    // NODE_OPTIONS belongs to the platform's function defaults, not to ingest.
    expect(
      Object.keys(variables)
        .filter((k) => k !== 'NODE_OPTIONS')
        .sort(),
    ).toEqual([
      'BOOTSTRAP_BROKERS',
      'EVENTS_TOPIC',
      'KAFKA_AUTH',
      'MAX_BATCH_SIZE',
      'MAX_MESSAGE_BYTES',
      'POWERTOOLS_SERVICE_NAME',
    ]);
    expect(variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: `streaming-${config.envName}-ingest`,
      EVENTS_TOPIC: 'events.user',
      MAX_BATCH_SIZE: String(config.ingest.maxBatchSize),
      MAX_MESSAGE_BYTES: '1048576', // cdk.json: topicDefaults.maxMessageBytes 1MiB in every environment
      KAFKA_AUTH: 'iam',
    });
    // A cross-stack reference to the bootstrap-brokers custom resource's IAM string.
    expect(JSON.stringify(variables.BOOTSTRAP_BROKERS)).toContain('BootstrapBrokerStringSaslIam');
  });

  test('the function may only produce to events.user, idempotently, and write its own logs', () => {
    const policies = Object.entries(synth.sources.findResources('AWS::IAM::Policy')).filter(([id]) =>
      id.startsWith('EventIngest'),
    ) as [string, Resource][];
    const scoped = policies.filter(([id]) => id.startsWith('EventIngestRoleDefaultPolicy'));
    expect(scoped).toHaveLength(1);
    const stack = `streaming-${envName}-streaming`;
    const output = (name: RegExp) => ({
      'Fn::GetStackOutput': {
        StackName: stack,
        Region: { Ref: 'AWS::Region' },
        OutputName: expect.stringMatching(name),
      },
    });
    expect(scoped[0]![1].Properties.PolicyDocument.Statement).toEqual([
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^EventIngestLogs/), 'Arn'] },
      },
      {
        Action: [
          'kafka-cluster:Connect',
          'kafka-cluster:DescribeCluster',
          'kafka-cluster:WriteDataIdempotently',
        ],
        Effect: 'Allow',
        Resource: output(/KafkaCluster.*Arn/),
      },
      {
        Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', [output(/TopicArnPrefix/), 'events.user']] },
      },
    ]);
    // The only other policy holds the actions that have no resource scope (X-Ray, VPC networking).
    const others = policies.filter(([id]) => !id.startsWith('EventIngestRoleDefaultPolicy'));
    expect(JSON.stringify(others)).not.toContain('kafka-cluster');
  });

  test('the endpoint is published in SSM', () => {
    synth.sources.hasResourceProperties('AWS::SSM::Parameter', {
      Name: `/streaming/${envName}/ingest/endpoint`,
    });
  });
});

describe('the function follows the catalog', () => {
  test('MAX_MESSAGE_BYTES is events.user max.message.bytes, overrides included', () => {
    const synth = synthEnvironment('staging', { 'topics.events.user.maxMessageBytes': '2MiB' });
    expect(ingestFunction(synth.sources).Properties.Environment.Variables.MAX_MESSAGE_BYTES).toBe('2097152');
  });
});

/**
 * API Gateway's CloudWatch Logs role is one setting per account and region (AWS::ApiGateway::Account):
 * exactly one environment's sources stack owns it (cdk.json: dev), retained on delete.
 */
describe('API Gateway account settings', () => {
  const OWNERS: Record<string, number> = { dev: 1, staging: 0, prod: 0 };
  const built = new Map<string, SynthesizedEnvironment>();
  const synthOf = (envName: string): SynthesizedEnvironment => {
    if (!built.has(envName)) built.set(envName, synthEnvironment(envName));
    return built.get(envName)!;
  };

  test('cdk.json makes exactly one environment the owner', () => {
    expect(
      Object.fromEntries(ENVIRONMENTS.map((e) => [e, configFor(e).ingest.ownsApiGatewayAccount])),
    ).toEqual({
      dev: true,
      staging: false,
      prod: false,
    });
  });

  test.each(ENVIRONMENTS)(
    '%s: AWS::ApiGateway::Account appears only in the owner sources stack',
    (envName) => {
      const synth = synthOf(envName);
      expect({
        network: synth.network.findResources('AWS::ApiGateway::Account'),
        streaming: synth.streaming.findResources('AWS::ApiGateway::Account'),
      }).toEqual({ network: {}, streaming: {} });
      expect(Object.keys(synth.sources.findResources('AWS::ApiGateway::Account'))).toHaveLength(
        OWNERS[envName]!,
      );
    },
  );

  test('the owner retains the setting and its role, and the role only lets API Gateway push logs', () => {
    const { sources } = synthOf('dev');
    const [account] = Object.values(sources.findResources('AWS::ApiGateway::Account')) as Resource[];
    expect(account!.DeletionPolicy).toBe('Retain');
    expect(account!.UpdateReplacePolicy).toBe('Retain');
    const roleId = (account!.Properties.CloudWatchRoleArn as { 'Fn::GetAtt': [string, string] })[
      'Fn::GetAtt'
    ][0];
    expect(account!.Properties).toEqual({ CloudWatchRoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] } });
    const role = sources.toJSON().Resources[roleId] as Resource;
    expect(role.DeletionPolicy).toBe('Retain');
    expect(Object.keys(role.Properties).sort()).toEqual([
      'AssumeRolePolicyDocument',
      'ManagedPolicyArns',
      'Tags',
    ]);
    expect(role.Properties.AssumeRolePolicyDocument).toEqual({
      Statement: [
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' } },
      ],
      Version: '2012-10-17',
    });
    expect(role.Properties.ManagedPolicyArns).toEqual([
      {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs',
          ],
        ],
      },
    ]);
  });

  test('the owner stage is created after the account setting it logs through', () => {
    const { sources } = synthOf('dev');
    const [accountId] = Object.keys(sources.findResources('AWS::ApiGateway::Account'));
    const [stage] = Object.values(sources.findResources('AWS::ApiGateway::Stage')) as Resource[];
    expect(stage!.DependsOn).toContain(accountId);
  });

  test('the other environments create no API Gateway role at all', () => {
    for (const envName of ['staging', 'prod']) {
      const roles = Object.values(synthOf(envName).sources.findResources('AWS::IAM::Role')) as Resource[];
      expect(roles.filter((r) => JSON.stringify(r).includes('apigateway.amazonaws.com'))).toEqual([]);
    }
  });

  /** cdk.json's context with some environments changed. */
  function contextWith(
    changes: Record<string, Record<string, unknown>>,
    env = 'dev',
  ): Record<string, unknown> {
    const context = structuredClone(cdkJsonContext()) as Record<string, any>;
    for (const [envName, change] of Object.entries(changes)) {
      const target = context.environments[envName];
      const { ingest, ...rest } = change as { ingest?: Record<string, unknown> };
      Object.assign(target, rest);
      if (ingest) Object.assign(target.ingest, ingest);
    }
    return { ...context, env };
  }
  function configError(context: Record<string, unknown>): string | undefined {
    try {
      loadEnvironments(context);
      return undefined;
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
  }

  test('two owners that may share an account and region fail synth, whichever environment is synthesized', () => {
    const context = contextWith({ prod: { ingest: { ownsApiGatewayAccount: true } } });
    const expected =
      'environments.prod.ingest.ownsApiGatewayAccount: environment dev (no account and region given, so any ' +
      'account and region) already owns the API Gateway account settings, one per account and region, and prod ' +
      '(no account and region given, so any account and region) may share them; set this to false, or give ' +
      'both environments account and region to show that they differ';
    for (const env of ['dev', 'staging', 'prod', 'all'])
      expect(configError({ ...context, env })).toContain(expected);
  });

  test.each([
    [
      'the same account and region',
      true,
      { account: '111111111111', region: 'eu-west-1' },
      { account: '111111111111', region: 'eu-west-1' },
    ],
    [
      'the same account, one region unknown',
      true,
      { account: '111111111111', region: 'eu-west-1' },
      { account: '111111111111' },
    ],
    ['one account unknown', true, { account: '111111111111', region: 'eu-west-1' }, { region: 'eu-west-1' }],
    [
      'different accounts',
      false,
      { account: '111111111111', region: 'eu-west-1' },
      { account: '222222222222', region: 'eu-west-1' },
    ],
    [
      'the same account, different regions',
      false,
      { account: '111111111111', region: 'eu-west-1' },
      { account: '111111111111', region: 'eu-central-1' },
    ],
  ])('two owners in %s: refused %p', (_name, refused, dev, prod) => {
    const context = contextWith({ dev, prod: { ...prod, ingest: { ownsApiGatewayAccount: true } } }, 'all');
    const error = configError(context);
    if (refused)
      expect(error).toMatch(/environments\.prod\.ingest\.ownsApiGatewayAccount: environment dev \(/);
    else expect(error).toBeUndefined();
  });

  test('the setting is required in every environment', () => {
    const context = structuredClone(cdkJsonContext()) as Record<string, any>;
    delete context.environments.staging.ingest.ownsApiGatewayAccount;
    expect(configError({ ...context, env: 'staging' })).toContain(
      'environments.staging.ingest.ownsApiGatewayAccount:',
    );
  });
});
