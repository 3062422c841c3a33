import { Match } from 'aws-cdk-lib/assertions';
import { renderTopicRule, telemetryBridge } from '../../lib/iot/telemetry-bridge';
import { configFor, ENVIRONMENTS, synthEnvironment, type SynthesizedEnvironment } from '../support/synth';

type Rule = { Properties: { RuleName: string; TopicRulePayload: Record<string, any> } };

describe.each(ENVIRONMENTS)('MQTT bridge in %s', (envName) => {
  let synth: SynthesizedEnvironment;
  const config = configFor(envName);
  const ruleName = `streaming_${envName}_telemetry_raw`;
  const rendered = renderTopicRule(telemetryBridge({ topicFilter: config.iot.topicFilter, ruleName }));
  beforeAll(() => {
    synth = synthEnvironment(envName);
  });
  const rule = (name: string) =>
    (Object.values(synth.sources.findResources('AWS::IoT::TopicRule')) as Rule[]).find(
      (r) => r.Properties.RuleName === name,
    )!;

  test('the rule SQL and Kafka key come from the one bridge definition', () => {
    const payload = rule(ruleName).Properties.TopicRulePayload;
    expect(payload.Sql).toBe(rendered.sql);
    expect(payload.Sql).toContain(`FROM '${config.iot.topicFilter}'`);
    expect(payload.AwsIotSqlVersion).toBe('2016-03-23');
    expect(payload.RuleDisabled).toBe(false);
    expect(payload.Actions).toHaveLength(1);
    expect(payload.Actions[0].Kafka).toMatchObject({ Topic: 'telemetry.raw', Key: '${topic(2)}' });
  });

  test('the Kafka action uses SASL_SSL/SCRAM-SHA-512 with credentials from get_secret, never literals', () => {
    const kafka = rule(ruleName).Properties.TopicRulePayload.Actions[0].Kafka;
    expect(kafka.ClientProperties).toMatchObject({
      'security.protocol': 'SASL_SSL',
      'sasl.mechanism': 'SCRAM-SHA-512',
      acks: '1',
    });
    for (const field of ['username', 'password']) {
      const value = JSON.stringify(kafka.ClientProperties[`sasl.scram.${field}`]);
      expect(value).toContain("${get_secret('");
      expect(value).toContain(`'SecretString', '${field}'`);
    }
    expect(JSON.stringify(kafka.ClientProperties['bootstrap.servers'])).toContain(
      'BootstrapBrokerStringSaslScram',
    );
    expect(kafka.DestinationArn['Fn::GetAtt'][0]).toMatch(/^IotBridgeDestination/);
  });

  test('failed deliveries are kept by the error action', () => {
    const payload = rule(ruleName).Properties.TopicRulePayload;
    expect(payload.ErrorAction.S3).toMatchObject({ Key: rendered.errorObjectKey });
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
    synth.sources.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ParseError',
      Namespace: 'AWS/IoT',
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

  test('devices may publish only their own telemetry topic', () => {
    synth.sources.hasResourceProperties('AWS::IoT::Policy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'iot:Publish',
            Resource: Match.objectLike({
              'Fn::Join': Match.arrayWith([
                Match.arrayWith([
                  Match.stringLikeRegexp('topic/devices/\\$\\{iot:Connection.Thing.ThingName\\}/telemetry'),
                ]),
              ]),
            }),
          }),
        ]),
      }),
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

  test('the ACL function connects with IAM and may alter the cluster', () => {
    sources.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ KAFKA_AUTH: 'iam', BOOTSTRAP_BROKERS: Match.anyValue() }),
      },
      Description: Match.stringLikeRegexp('ACLs'),
    });
    expect(JSON.stringify(sources.findResources('AWS::IAM::Policy'))).toContain('kafka-cluster:AlterCluster');
  });
});
