import { Match } from 'aws-cdk-lib/assertions';
import { configFor, ENVIRONMENTS, synthEnvironment, type SynthesizedEnvironment } from '../support/synth';

describe.each(ENVIRONMENTS)('app-event ingest in %s', (envName) => {
  let synth: SynthesizedEnvironment;
  const config = configFor(envName);
  beforeAll(() => {
    synth = synthEnvironment(envName);
  });

  test('POST /events requires IAM authorization and proxies to the ingest function', () => {
    synth.sources.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'events' });
    synth.sources.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      AuthorizationType: 'AWS_IAM',
      Integration: Match.objectLike({ Type: 'AWS_PROXY' }),
    });
    const methods = Object.values(synth.sources.findResources('AWS::ApiGateway::Method')) as {
      Properties: { AuthorizationType?: string; HttpMethod: string };
    }[];
    for (const m of methods.filter((x) => x.Properties.HttpMethod !== 'OPTIONS'))
      expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
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

  test('the function gets the catalog topic, batch limit and IAM bootstrap brokers from the platform', () => {
    synth.sources.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          EVENTS_TOPIC: 'events.user',
          MAX_BATCH_SIZE: String(config.ingest.maxBatchSize),
          KAFKA_AUTH: 'iam',
          BOOTSTRAP_BROKERS: Match.anyValue(),
        }),
      },
    });
    // A cross-stack reference to the bootstrap-brokers custom resource's IAM string.
    const fn = Object.values(synth.sources.findResources('AWS::Lambda::Function'))[0] as {
      Properties: { Environment: { Variables: { BOOTSTRAP_BROKERS: unknown } } };
    };
    expect(JSON.stringify(fn.Properties.Environment.Variables.BOOTSTRAP_BROKERS)).toContain(
      'BootstrapBrokerStringSaslIam',
    );
  });

  test('the function may only produce to events.user', () => {
    const policies = JSON.stringify(
      Object.entries(synth.sources.findResources('AWS::IAM::Policy')).filter(([id]) =>
        id.startsWith('EventIngest'),
      ),
    );
    expect(policies).toContain('kafka-cluster:WriteData');
    expect(policies).toContain('/events.user');
    expect(policies).not.toContain('kafka-cluster:ReadData');
    expect(policies).not.toContain('kafka-cluster:*');
  });

  test('the endpoint is published in SSM and alarms go to the platform alarm topic', () => {
    synth.sources.hasResourceProperties('AWS::SSM::Parameter', {
      Name: `/streaming/${envName}/ingest/endpoint`,
    });
    const alarms = Object.values(synth.sources.findResources('AWS::CloudWatch::Alarm')) as {
      Properties: { AlarmDescription: string };
    }[];
    expect(alarms.filter((a) => a.Properties.AlarmDescription.startsWith('ingest '))).toHaveLength(2);
  });
});
