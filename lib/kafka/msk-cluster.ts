import { Aws, Fn, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as msk from 'aws-cdk-lib/aws-msk';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { NagSuppressions } from '../private/nag';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { MSK_KAFKA_VERSION } from '../config/versions';

export interface MskClusterProps {
  readonly config: EnvironmentConfig;
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  /** Encrypts storage at rest, the SCRAM secret and the broker logs. */
  readonly key: kms.IKey;
}

/** What clients of a cluster need: its identity, IAM resource ARNs and the connect grant. */
export interface IKafkaCluster {
  readonly clusterArn: string;
  readonly clusterName: string;
  /** The ARN of a topic for IAM policies. */
  topicArn(topicName: string): string;
  /** The ARN of a consumer group for IAM policies. */
  groupArn(groupName: string): string;
  /** Lets a principal connect to the cluster with IAM authentication. */
  grantConnect(grantee: iam.IGrantable): iam.Grant;
}

/** The SCRAM user of the IoT Core Kafka rule action, the only client that cannot use IAM. */
export const IOT_BRIDGE_SCRAM_USER = 'iot-bridge';

/**
 * The MSK provisioned cluster: pinned Kafka version in KRaft mode, IAM and SASL/SCRAM client
 * authentication (no unauthenticated or plaintext access), TLS in transit, storage encrypted with the
 * platform CMK, broker logs in CloudWatch, and a cluster configuration that forbids topic
 * auto-creation (topics come from the catalog only).
 */
export class MskCluster extends Construct implements IKafkaCluster {
  public readonly cluster: msk.CfnCluster;
  public readonly clusterArn: string;
  public readonly clusterName: string;
  /** The `AmazonMSK_` secret of {@link IOT_BRIDGE_SCRAM_USER}, associated with the cluster. */
  public readonly scramSecret: secretsmanager.Secret;
  public readonly brokerLogGroup: logs.LogGroup;
  /**
   * The cluster's UUID (the last part of its ARN), `arn:...:topic/<name>/<uuid>/` and
   * `arn:...:group/<name>/<uuid>/`: derived here, in the stack that owns the cluster, and published
   * as SSM parameters whose values other stacks read as plain stack outputs. (Deriving them in a
   * consuming stack would put a cross-stack reference inside `Fn::Split`, which CloudFormation does
   * not document and cfn-lint rejects: E1022.)
   */
  public readonly clusterUuid: string;
  public readonly topicArnPrefix: string;
  public readonly groupArnPrefix: string;

  constructor(scope: Construct, id: string, props: MskClusterProps) {
    super(scope, id);
    const { config, key } = props;
    const stateful = config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    this.clusterName = `${config.platformName}-${config.envName}`;

    this.brokerLogGroup = new logs.LogGroup(this, 'BrokerLogs', {
      logGroupName: `/aws/msk/${this.clusterName}`,
      retention: config.msk.logRetentionDays as logs.RetentionDays,
      encryptionKey: key,
      removalPolicy: stateful,
    });

    const serverProperties = [
      'auto.create.topics.enable=false',
      `default.replication.factor=${config.msk.defaultReplicationFactor}`,
      `min.insync.replicas=${config.msk.minInsyncReplicas}`,
      'unclean.leader.election.enable=false',
      'num.partitions=3',
      // Deleting a topic is a deliberate act (see README): allowed, but only by an admin principal.
      'delete.topic.enable=true',
      // IAM clients are authorized by IAM policies; SCRAM clients (the IoT bridge) only by explicit ACLs.
      'allow.everyone.if.no.acl.found=false',
    ].join('\n');
    const configuration = new msk.CfnConfiguration(this, 'Configuration', {
      name: `${this.clusterName}-kafka`,
      description: `${this.clusterName}: broker settings of the platform`,
      kafkaVersionsList: [MSK_KAFKA_VERSION],
      serverProperties,
    });

    const subnetIds = props.vpc.selectSubnets(props.subnets).subnetIds;
    this.cluster = new msk.CfnCluster(this, 'Cluster', {
      clusterName: this.clusterName,
      kafkaVersion: MSK_KAFKA_VERSION,
      numberOfBrokerNodes: config.msk.brokerCount,
      enhancedMonitoring: config.msk.enhancedMonitoring,
      brokerNodeGroupInfo: {
        instanceType: config.msk.instanceType,
        clientSubnets: subnetIds,
        securityGroups: [props.securityGroup.securityGroupId],
        storageInfo: { ebsStorageInfo: { volumeSize: config.msk.volumeSizeGiB } },
        connectivityInfo: { publicAccess: { type: 'DISABLED' } },
      },
      clientAuthentication: {
        sasl: { iam: { enabled: true }, scram: { enabled: true } },
        unauthenticated: { enabled: false },
      },
      encryptionInfo: {
        encryptionAtRest: { dataVolumeKmsKeyId: key.keyArn },
        encryptionInTransit: { clientBroker: 'TLS', inCluster: true },
      },
      configurationInfo: { arn: configuration.attrArn, revision: configuration.attrLatestRevisionRevision },
      loggingInfo: {
        brokerLogs: { cloudWatchLogs: { enabled: true, logGroup: this.brokerLogGroup.logGroupName } },
      },
    });
    this.cluster.applyRemovalPolicy(stateful);
    this.clusterArn = this.cluster.attrArn;

    const parameterPrefix = `/${config.platformName}/${config.envName}/msk`;
    const publish = (id: string, name: string, value: string, description: string): string =>
      new ssm.CfnParameter(this, id, {
        name: `${parameterPrefix}/${name}`,
        type: 'String',
        value,
        description,
      }).attrValue;
    const uuid = Fn.select(2, Fn.split('/', this.clusterArn));
    const resourceArn = (kind: string) =>
      `arn:${Aws.PARTITION}:kafka:${Aws.REGION}:${Aws.ACCOUNT_ID}:${kind}/${this.clusterName}/${uuid}/`;
    this.clusterUuid = publish(
      'UuidParameter',
      'cluster-uuid',
      uuid,
      `UUID of the ${this.clusterName} MSK cluster`,
    );
    this.topicArnPrefix = publish(
      'TopicArnPrefixParameter',
      'topic-arn-prefix',
      resourceArn('topic'),
      `IAM resource prefix of the topics of ${this.clusterName} (append a topic name)`,
    );
    this.groupArnPrefix = publish(
      'GroupArnPrefixParameter',
      'group-arn-prefix',
      resourceArn('group'),
      `IAM resource prefix of the consumer groups of ${this.clusterName} (append a group name)`,
    );

    this.scramSecret = new secretsmanager.Secret(this, 'IotBridgeScram', {
      secretName: `AmazonMSK_${config.platformName}-${config.envName}-${IOT_BRIDGE_SCRAM_USER}`,
      description: `SASL/SCRAM credentials of ${IOT_BRIDGE_SCRAM_USER} (IoT Core Kafka rule action) on ${this.clusterName}`,
      encryptionKey: key,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: IOT_BRIDGE_SCRAM_USER }),
        generateStringKey: 'password',
        excludePunctuation: true,
        passwordLength: 40,
      },
      removalPolicy: stateful,
    });
    // MSK reads SCRAM secrets through this resource policy (AWS docs: "sasl-scram" setup).
    this.scramSecret.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AWSKafkaResourcePolicy',
        principals: [new iam.ServicePrincipal('kafka.amazonaws.com')],
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.scramSecret.secretArn],
      }),
    );
    NagSuppressions.addResourceSuppressions(this.scramSecret, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'SCRAM password rotation is a coordinated runbook step (README, Operations): MSK and the IoT rule (get_secret) must both pick up the new value, which a scheduled rotation Lambda cannot sequence.',
      },
    ]);
    new msk.CfnBatchScramSecret(this, 'ScramAssociation', {
      clusterArn: this.clusterArn,
      secretArnList: [this.scramSecret.secretArn],
    });
  }

  /** The ARN of a topic for IAM policies. */
  public topicArn(topicName: string): string {
    return `${this.topicArnPrefix}${topicName}`;
  }

  /** The ARN of a consumer group for IAM policies. */
  public groupArn(groupName: string): string {
    return `${this.groupArnPrefix}${groupName}`;
  }

  /** Lets a principal connect to the cluster with IAM authentication. */
  public grantConnect(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster'],
      resourceArns: [this.clusterArn],
    });
  }
}
