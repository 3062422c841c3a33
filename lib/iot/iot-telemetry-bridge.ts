import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as iot from 'aws-cdk-lib/aws-iot';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { NagSuppressions } from '../private/nag';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { producerAcls } from '../kafka/acl-model';
import { KafkaAcls } from '../kafka/kafka-acls';
import { IOT_BRIDGE_SCRAM_USER, type IKafkaCluster } from '../kafka/msk-cluster';
import { grantSecretRead } from '../security/secret-access';
import { renderTopicRule, telemetryBridge, type RenderedTelemetryRule } from './telemetry-bridge';

export interface IotTelemetryBridgeProps {
  readonly config: EnvironmentConfig;
  /** The SASL/SCRAM listener bootstrap string (the Kafka rule action cannot use IAM). */
  readonly scramBootstrapBrokers: string;
  /** The `AmazonMSK_` SCRAM secret of the bridge user. */
  readonly scramSecret: secretsmanager.ISecret;
  /**
   * The platform key: the bridge bucket's default encryption (SSE-KMS, S3 Bucket Key) and the raw
   * capture stream's buffer. Referenced, not owned: the roles that write the bucket are granted
   * its use in their own policies, through S3 only.
   */
  readonly key: kms.IKey;
  readonly vpc: ec2.IVpc;
  /** The bridge's security group (SCRAM listener egress only). */
  readonly securityGroup: ec2.ISecurityGroup;
  readonly cluster: IKafkaCluster;
  /** The IAM listener bootstrap string (for the ACL function). */
  readonly iamBootstrapBrokers: string;
  /** The admin component's security group (for the ACL function). */
  readonly adminSecurityGroup: ec2.ISecurityGroup;
}

/**
 * The MQTT bridge: an IoT Core topic rule whose Kafka action writes device telemetry into the
 * catalog's telemetry.raw through a VPC topic-rule destination, over SASL_SSL/SCRAM-SHA-512 with
 * credentials read by the rules engine (`get_secret`). Rule SQL, Kafka key and error-object key are
 * rendered from lib/iot/telemetry-bridge.ts, the definition the local bridge runs too.
 *
 * Nothing is dropped silently: a failed Kafka delivery goes to the error action (the error document
 * in the bridge bucket); payloads the rules engine cannot parse raise no error action, so a
 * binary-safe capture rule keeps every message's bytes (Firehose to the same bucket) and the
 * ParseError metric is alarmed.
 *
 * At rest: the bridge bucket and the capture stream's buffer use the platform key; the server access
 * log bucket stays SSE-S3, the only default encryption S3 server access logging supports.
 */
export class IotTelemetryBridge extends Construct {
  public readonly rule: iot.CfnTopicRule;
  public readonly captureRule: iot.CfnTopicRule;
  public readonly destination: iot.CfnTopicRuleDestination;
  /** Error documents (`<rule>/...`) and captured raw messages (`raw-capture/...`). */
  public readonly bucket: s3.Bucket;
  public readonly publisherPolicy: iot.CfnPolicy;
  public readonly rendered: RenderedTelemetryRule;
  /** The SCRAM user may write telemetry.raw and nothing else. */
  public readonly acls: KafkaAcls;

  constructor(scope: Construct, id: string, props: IotTelemetryBridgeProps) {
    super(scope, id);
    const { config, key } = props;
    const ruleName = `${config.platformName}_${config.envName}_telemetry_raw`.replace(/[^A-Za-z0-9_]/g, '_');
    this.rendered = renderTopicRule(telemetryBridge({ topicFilter: config.iot.topicFilter, ruleName }));

    // S3 server access logging supports SSE-S3 only as the target bucket's default encryption
    // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(accessLogs, [
      {
        id: 'AwsSolutions-S1',
        reason: 'This is the server access log bucket of the bridge bucket; logging it again would recurse.',
      },
    ]);
    // SSE-KMS with an S3 Bucket Key: S3 asks KMS for a bucket-level key rather than one data key
    // per object, and the encryption context of every object is the bucket's ARN.
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'bridge/',
      lifecycleRules: [
        {
          expiration: Duration.days(config.iot.errorRetentionDays),
          noncurrentVersionExpiration: Duration.days(7),
        },
      ],
      // Rejected messages are data: the bucket outlives the stack in every environment.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // The rules engine: reads the SCRAM secret (get_secret), writes error documents.
    const ruleRole = new iam.Role(this, 'RuleRole', {
      assumedBy: new iam.ServicePrincipal('iot.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: `${ruleName}: read the SCRAM secret, write error documents`,
    });
    // get_secret() decrypts through Secrets Manager with this role: read plus kms:Decrypt on the key.
    grantSecretRead(props.scramSecret, ruleRole);
    // The rule's S3 error action makes one PutObject per error document; grantPut would add an
    // action wildcard (s3:Abort*) and object-lock and tagging actions it never uses.
    ruleRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${ruleName}/*`)],
      }),
    );
    // A PutObject into the SSE-KMS bucket needs a data key from the platform key: only through S3,
    // only for this bucket (with a Bucket Key the encryption context is the bucket's ARN).
    ruleRole.addToPolicy(this.keyViaS3(key, ['kms:GenerateDataKey']));

    // The VPC destination: IoT Core places ENIs in the private subnets with the bridge's group.
    const destinationRole = new iam.Role(this, 'DestinationRole', {
      assumedBy: new iam.ServicePrincipal('iot.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: `${ruleName}: network interfaces of the VPC topic-rule destination`,
    });
    const destinationPolicy = new iam.Policy(this, 'DestinationPolicy', {
      statements: [
        new iam.PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:CreateNetworkInterfacePermission',
            'ec2:DeleteNetworkInterface',
            'ec2:DescribeSubnets',
            'ec2:DescribeVpcs',
            'ec2:DescribeVpcAttribute',
            'ec2:DescribeSecurityGroups',
          ],
          resources: ['*'],
        }),
      ],
    });
    destinationPolicy.attachToRole(destinationRole);
    this.destination = new iot.CfnTopicRuleDestination(this, 'Destination', {
      status: 'ENABLED',
      vpcProperties: {
        vpcId: props.vpc.vpcId,
        subnetIds: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds,
        securityGroups: [props.securityGroup.securityGroupId],
        roleArn: destinationRole.roleArn,
      },
    });
    // CloudFormation does not see that the destination needs the role's policy ("Internal Error").
    this.destination.node.addDependency(destinationPolicy);

    const secretField = (field: string) =>
      `\${get_secret('${props.scramSecret.secretArn}', 'SecretString', '${field}', '${ruleRole.roleArn}')}`;
    this.rule = new iot.CfnTopicRule(this, 'Rule', {
      ruleName,
      topicRulePayload: {
        description: `MQTT ${config.iot.topicFilter} -> Kafka ${this.rendered.kafka.topic}`,
        sql: this.rendered.sql,
        awsIotSqlVersion: this.rendered.awsIotSqlVersion,
        ruleDisabled: false,
        actions: [
          {
            kafka: {
              destinationArn: this.destination.attrArn,
              topic: this.rendered.kafka.topic,
              key: this.rendered.kafka.key,
              clientProperties: {
                'bootstrap.servers': props.scramBootstrapBrokers,
                'security.protocol': 'SASL_SSL',
                'sasl.mechanism': 'SCRAM-SHA-512',
                'sasl.scram.username': secretField('username'),
                'sasl.scram.password': secretField('password'),
                // The rule action documents acks 0 and 1 only (default 1): the partition leader confirms.
                acks: '1',
              },
            },
          },
        ],
        errorAction: {
          s3: {
            bucketName: this.bucket.bucketName,
            key: this.rendered.errorObjectKey,
            roleArn: ruleRole.roleArn,
          },
        },
      },
    });
    this.rule.node.addDependency(ruleRole);

    // Binary-safe capture of every message, for the payloads the main rule cannot parse: Firehose
    // batches them (gzip) into raw-capture/ of the bridge bucket, with a role limited to that prefix.
    const captureDeliveryRole = new iam.Role(this, 'CaptureDeliveryRole', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'sts:ExternalId': Aws.ACCOUNT_ID } },
      }),
      description: `${ruleName}: raw capture delivery into the bridge bucket`,
    });
    captureDeliveryRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [this.bucket.bucketArn],
      }),
    );
    captureDeliveryRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [
          this.bucket.arnForObjects('raw-capture/*'),
          this.bucket.arnForObjects('raw-capture-errors/*'),
        ],
      }),
    );
    // Firehose writes into the SSE-KMS bucket with this role: a data key per upload, and Decrypt for
    // the parts of a multipart upload; only through S3, only for this bucket.
    captureDeliveryRole.addToPolicy(this.keyViaS3(key, ['kms:Decrypt', 'kms:GenerateDataKey']));
    // The stream's buffer is encrypted with the platform key too. Firehose uses the key through a
    // grant it creates itself when the stream is created (with the deployment's credentials, which
    // the key policy's delegation to the account covers); no role of the stream needs the key for it.
    const captureStream = new firehose.CfnDeliveryStream(this, 'RawCapture', {
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: { keyType: 'CUSTOMER_MANAGED_CMK', keyArn: key.keyArn },
      extendedS3DestinationConfiguration: {
        bucketArn: this.bucket.bucketArn,
        roleArn: captureDeliveryRole.roleArn,
        prefix: 'raw-capture/!{timestamp:yyyy/MM/dd/HH}/',
        errorOutputPrefix: 'raw-capture-errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/',
        bufferingHints: { intervalInSeconds: 300, sizeInMBs: 5 },
        compressionFormat: 'GZIP',
      },
    });
    captureStream.node.addDependency(captureDeliveryRole);
    const captureRole = new iam.Role(this, 'CaptureRole', {
      assumedBy: new iam.ServicePrincipal('iot.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: `${ruleName}: raw capture to Firehose`,
    });
    captureRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
        resources: [captureStream.attrArn],
      }),
    );
    this.captureRule = new iot.CfnTopicRule(this, 'CaptureRule', {
      ruleName: `${ruleName}_capture`,
      topicRulePayload: {
        description: `Every message of ${config.iot.topicFilter}, as base64, for payloads ${ruleName} cannot parse`,
        sql: this.rendered.rawCaptureSql,
        awsIotSqlVersion: this.rendered.awsIotSqlVersion,
        ruleDisabled: false,
        actions: [
          {
            firehose: {
              deliveryStreamName: captureStream.ref,
              roleArn: captureRole.roleArn,
              separator: '\n',
              batchMode: false,
            },
          },
        ],
      },
    });
    this.captureRule.node.addDependency(captureRole);

    // Devices publish only their own telemetry topic and connect with their thing name.
    const ownTopic = config.iot.topicFilter.replace('+', '${iot:Connection.Thing.ThingName}');
    this.publisherPolicy = new iot.CfnPolicy(this, 'PublisherPolicy', {
      policyName: `${config.platformName}-${config.envName}-telemetry-publisher`,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'iot:Connect',
            Resource: `arn:${Aws.PARTITION}:iot:${Aws.REGION}:${Aws.ACCOUNT_ID}:client/\${iot:Connection.Thing.ThingName}`,
            Condition: { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } },
          },
          {
            Effect: 'Allow',
            Action: 'iot:Publish',
            Resource: `arn:${Aws.PARTITION}:iot:${Aws.REGION}:${Aws.ACCOUNT_ID}:topic/${ownTopic}`,
          },
        ],
      },
    });

    this.acls = new KafkaAcls(this, 'Acls', {
      config,
      cluster: props.cluster,
      bootstrapBrokers: props.iamBootstrapBrokers,
      vpc: props.vpc,
      securityGroup: props.adminSecurityGroup,
      acls: producerAcls(IOT_BRIDGE_SCRAM_USER, this.rendered.kafka.topic),
    });
    // The rule's first deliveries need the ACLs in place.
    this.rule.node.addDependency(this.acls);

    NagSuppressions.addResourceSuppressions(
      [destinationRole, destinationPolicy],
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'EC2 network-interface and Describe actions of a VPC topic-rule destination support no resource scope.',
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );
    NagSuppressions.addResourceSuppressions(
      [ruleRole, captureDeliveryRole],
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Object keys are generated per message under the rule/capture prefixes of the bridge bucket; the grants are limited to those prefixes and actions.',
        },
      ],
      true,
    );
  }

  /** Use of the platform key through S3 only, for objects of the bridge bucket only. */
  private keyViaS3(key: kms.IKey, actions: string[]): iam.PolicyStatement {
    return new iam.PolicyStatement({
      actions,
      resources: [key.keyArn],
      conditions: {
        StringEquals: {
          'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com`,
          'kms:EncryptionContext:aws:s3:arn': this.bucket.bucketArn,
        },
      },
    });
  }
}
