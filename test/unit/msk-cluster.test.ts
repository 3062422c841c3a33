import { Match } from 'aws-cdk-lib/assertions';
import { MSK_KAFKA_VERSION } from '../../lib/config/versions';
import {
  cdkJsonContext,
  configFor,
  ENVIRONMENTS,
  synthEnvironment,
  type SynthesizedEnvironment,
} from '../support/synth';

describe.each(ENVIRONMENTS)('MSK cluster in %s', (envName) => {
  let synth: SynthesizedEnvironment;
  const config = configFor(envName);
  beforeAll(() => {
    synth = synthEnvironment(envName);
  });

  test('pinned Kafka version in KRaft mode, brokers and storage per environment', () => {
    synth.streaming.resourceCountIs('AWS::MSK::Cluster', 1);
    synth.streaming.hasResourceProperties('AWS::MSK::Cluster', {
      ClusterName: `streaming-${envName}`,
      KafkaVersion: MSK_KAFKA_VERSION,
      NumberOfBrokerNodes: config.msk.brokerCount,
      EnhancedMonitoring: config.msk.enhancedMonitoring,
      BrokerNodeGroupInfo: Match.objectLike({
        InstanceType: config.msk.instanceType,
        StorageInfo: { EBSStorageInfo: { VolumeSize: config.msk.volumeSizeGiB } },
        ConnectivityInfo: { PublicAccess: { Type: 'DISABLED' } },
      }),
    });
    expect(MSK_KAFKA_VERSION).toMatch(/^3\.9\.x\.kraft$/);
  });

  test('brokers in the private subnets, one per AZ multiple', () => {
    const cluster = Object.values(synth.streaming.findResources('AWS::MSK::Cluster'))[0] as {
      Properties: { BrokerNodeGroupInfo: { ClientSubnets: unknown[] } };
    };
    expect(cluster.Properties.BrokerNodeGroupInfo.ClientSubnets).toHaveLength(config.network.maxAzs);
  });

  test('IAM and SASL/SCRAM authentication, no unauthenticated access', () => {
    synth.streaming.hasResourceProperties('AWS::MSK::Cluster', {
      ClientAuthentication: {
        Sasl: { Iam: { Enabled: true }, Scram: { Enabled: true } },
        Unauthenticated: { Enabled: false },
      },
    });
  });

  test('TLS only in transit, storage encrypted with the platform CMK', () => {
    const keyId = synth.stacks.streaming.getLogicalId(
      synth.stacks.streaming.key.key.node.defaultChild as never,
    );
    synth.streaming.hasResourceProperties('AWS::MSK::Cluster', {
      EncryptionInfo: {
        EncryptionInTransit: { ClientBroker: 'TLS', InCluster: true },
        EncryptionAtRest: { DataVolumeKMSKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } },
      },
    });
    synth.streaming.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('broker logs go to an encrypted CloudWatch log group', () => {
    synth.streaming.hasResourceProperties('AWS::MSK::Cluster', {
      LoggingInfo: { BrokerLogs: { CloudWatchLogs: { Enabled: true, LogGroup: Match.anyValue() } } },
    });
    synth.streaming.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: `/aws/msk/streaming-${envName}`,
      RetentionInDays: config.msk.logRetentionDays,
      KmsKeyId: Match.anyValue(),
    });
  });

  test('cluster configuration forbids auto-created topics and sets replication defaults', () => {
    const configuration = Object.values(synth.streaming.findResources('AWS::MSK::Configuration'))[0] as {
      Properties: { ServerProperties: string; KafkaVersionsList: string[] };
    };
    const props = Object.fromEntries(
      configuration.Properties.ServerProperties.split('\n').map((l) => l.split('=')),
    );
    expect(props).toMatchObject({
      'auto.create.topics.enable': 'false',
      'default.replication.factor': String(config.msk.defaultReplicationFactor),
      'min.insync.replicas': String(config.msk.minInsyncReplicas),
      'unclean.leader.election.enable': 'false',
      'allow.everyone.if.no.acl.found': 'false',
    });
    expect(configuration.Properties.KafkaVersionsList).toEqual([MSK_KAFKA_VERSION]);
  });

  test('the SCRAM secret is generated, AmazonMSK_-prefixed, CMK-encrypted and associated', () => {
    synth.streaming.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: `AmazonMSK_streaming-${envName}-iot-bridge`,
      KmsKeyId: Match.anyValue(),
      GenerateSecretString: Match.objectLike({
        SecretStringTemplate: '{"username":"iot-bridge"}',
        GenerateStringKey: 'password',
      }),
    });
    const secret = Object.values(synth.streaming.findResources('AWS::SecretsManager::Secret'))[0] as {
      Properties: Record<string, unknown>;
    };
    expect(secret.Properties.SecretString).toBeUndefined();
    synth.streaming.hasResourceProperties('AWS::MSK::BatchScramSecret', {
      SecretArnList: [Match.objectLike({ Ref: Match.anyValue() })],
    });
  });

  test('bootstrap brokers come from GetBootstrapBrokers and are published in SSM', () => {
    const lookup = Object.values(synth.streaming.findResources('Custom::MskBootstrapBrokers'));
    expect(lookup).toHaveLength(1);
    // Create/Update are JSON strings joined around the cluster ARN token.
    for (const phase of ['Create', 'Update']) {
      const call = JSON.stringify((lookup[0] as { Properties: Record<string, unknown> }).Properties[phase]);
      expect(call).toContain('\\"service\\":\\"@aws-sdk/client-kafka\\"');
      expect(call).toContain('\\"action\\":\\"GetBootstrapBrokersCommand\\"');
      expect(call).toContain('KafkaCluster');
    }
    for (const listener of ['iam', 'scram']) {
      synth.streaming.hasResourceProperties('AWS::SSM::Parameter', {
        Name: `/streaming/${envName}/msk/bootstrap-brokers/${listener}`,
        Value: {
          'Fn::GetAtt': [
            Match.anyValue(),
            listener === 'iam' ? 'BootstrapBrokerStringSaslIam' : 'BootstrapBrokerStringSaslScram',
          ],
        },
      });
    }
    synth.streaming.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'kafka:GetBootstrapBrokers',
            Resource: Match.objectLike({ 'Fn::GetAtt': Match.anyValue() }),
          }),
        ]),
      },
    });
  });

  test('the cluster ARN is published in SSM', () => {
    synth.streaming.hasResourceProperties('AWS::SSM::Parameter', {
      Name: `/streaming/${envName}/msk/cluster-arn`,
    });
  });
});

test('an alarm e-mail subscribes to the alarm topic', () => {
  synthEnvironment('dev').streaming.resourceCountIs('AWS::SNS::Subscription', 0);
  const environments = structuredClone(cdkJsonContext().environments) as Record<
    string,
    Record<string, unknown>
  >;
  environments.dev!.alarmEmail = 'oncall@example.com';
  synthEnvironment('dev', { environments }).streaming.hasResourceProperties('AWS::SNS::Subscription', {
    Protocol: 'email',
    Endpoint: 'oncall@example.com',
  });
});
