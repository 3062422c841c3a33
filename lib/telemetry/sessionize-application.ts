import { ArnFormat, Aws, CfnOutput, CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kda from 'aws-cdk-lib/aws-kinesisanalyticsv2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import type { EnvironmentConfig } from '../config/platform-config';
import { consumerGroupId } from '../events/consumer-groups';
import { PlatformFunction } from '../lambda/platform-function';
import { acknowledgeProviderFramework, NagSuppressions } from '../private/nag';
import type { TopicCatalog } from '../topics/topic-catalog';
import { LAKE_PREFIXES, type SessionLake } from './lake';
import type { SessionizeJar } from './sessionize-jar';
import {
  SESSIONIZE_CONSUMER,
  SESSIONIZE_PROPERTY_GROUP,
  sessionizeProperties,
} from './sessionize-properties';
import { platformProvider } from '../lambda/platform-provider';

/**
 * The Managed Flink runtime. The CDK alpha construct (`@aws-cdk/aws-kinesisanalytics-flink-alpha`)
 * offers `Runtime` values up to FLINK_1_20 only, so the application is the L1 `CfnApplication`,
 * whose RuntimeEnvironment takes `FLINK-2_2` (docs/telemetry-path.md, "Versions").
 */
export const SESSIONIZE_RUNTIME = 'FLINK-2_2';

/** How often the start resource asks for the application's status, and how long a start may take. */
export const START_QUERY_INTERVAL = Duration.seconds(30);
export const START_TOTAL_TIMEOUT = Duration.minutes(30);

export interface SessionizeApplicationProps {
  readonly config: EnvironmentConfig;
  /** The topics and their grants (the cluster's Connect and DescribeCluster come with them). */
  readonly catalog: TopicCatalog;
  /** The IAM listener bootstrap string. */
  readonly bootstrapBrokers: string;
  /** The platform key: the log group; the lake's objects through S3. */
  readonly key: kms.IKey;
  readonly lake: SessionLake;
  readonly jar: SessionizeJar;
  readonly vpc: ec2.IVpc;
  /** Where the job's network interfaces go (the private subnets). */
  readonly subnets: ec2.SubnetSelection;
  /** The job's security group: the brokers' IAM listener and S3 (gateway prefix list) only. */
  readonly securityGroup: ec2.ISecurityGroup;
}

/**
 * The sessionize job (docs/telemetry-path.md) on Managed Service for Apache Flink: the jar from its
 * asset, checkpoints, snapshots, parallelism and logging from `telemetry.flink`, the runtime
 * properties of group `sessionize`, the private subnets with its own security group, a CMK-encrypted
 * log group, a least-privilege service execution role, and a custom resource that starts the
 * application after it is created (CloudFormation does not) and after an update that finds it stopped.
 */
export class SessionizeApplication extends Construct {
  public readonly application: kda.CfnApplication;
  public readonly applicationName: string;
  public readonly applicationArn: string;
  public readonly role: iam.Role;
  /** The EC2 and CloudWatch Logs actions that support no resource scope, apart from the role's scoped ones. */
  public readonly unscopedPolicy: iam.Policy;
  public readonly logGroup: logs.LogGroup;
  public readonly logStream: logs.LogStream;
  public readonly properties: Record<string, string>;
  public readonly start: CustomResource;
  public readonly startFunction: PlatformFunction;
  public readonly startCompleteFunction: PlatformFunction;

  constructor(scope: Construct, id: string, props: SessionizeApplicationProps) {
    super(scope, id);
    const { config, catalog, key, lake, jar } = props;
    const flink = config.telemetry.flink;
    const stack = Stack.of(this);
    const removalPolicy = config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    // A fixed name: ApplicationName and ApplicationMode are the only create-only properties of
    // AWS::KinesisAnalyticsV2::Application (code, configuration and even the runtime update in
    // place), and the mode is never set, so the name blocks no replacement the platform makes. It
    // gives the application an ARN known before it exists: the role's trust and the start
    // function's permissions name exactly this application.
    this.applicationName = `${config.platformName}-${config.envName}-sessionize`;
    this.applicationArn = stack.formatArn({
      service: 'kinesisanalytics',
      resource: 'application',
      resourceName: this.applicationName,
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      encryptionKey: key,
      retention: flink.logRetentionDays as logs.RetentionDays,
      removalPolicy,
    });
    this.logStream = new logs.LogStream(this, 'LogStream', {
      logGroup: this.logGroup,
      logStreamName: 'application',
      removalPolicy,
    });
    const logGroupArn = (resourceName: string) =>
      stack.formatArn({
        service: 'logs',
        resource: 'log-group',
        resourceName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    const logGroupName = this.logGroup.logGroupName;
    const logStreamArn = logGroupArn(`${logGroupName}:log-stream:${this.logStream.logStreamName}`);

    this.role = new iam.Role(this, 'ServiceRole', {
      description: `Service execution role of the Managed Flink application ${this.applicationName}`,
      assumedBy: new iam.ServicePrincipal('kinesisanalytics.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnEquals: { 'aws:SourceArn': this.applicationArn },
        },
      }),
    });

    // Kafka: read telemetry.raw as the job's group; write alerts and dead letters.
    catalog.grantConsume('telemetryRaw', consumerGroupId(SESSIONIZE_CONSUMER, 'telemetryRaw'), this.role);
    catalog.grantProduce('telemetryAlerts', this.role);
    catalog.grantProduce('dlqSessionize', this.role);

    // The lake: the Flink S3 file system writes under sessions/ only (multipart uploads included).
    // ListBucket is on the bucket WITHOUT an s3:prefix condition: the file system probes keys that
    // do not exist yet with HEAD/GetObject, and S3 answers a missing key with 404 only to a caller
    // allowed s3:ListBucket on the bucket, with 403 otherwise. A HEAD or GetObject request carries no
    // s3:prefix, so a prefix condition would not apply to it and the probe would fail the job with
    // 403. Listing shows key names only; reading and writing objects stay limited to sessions/.
    const sessions = LAKE_PREFIXES.sessions;
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListLake',
        actions: ['s3:ListBucket'],
        resources: [lake.bucket.bucketArn],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteSessions',
        actions: [
          's3:GetObject',
          's3:PutObject',
          's3:DeleteObject',
          's3:AbortMultipartUpload',
          's3:ListMultipartUploadParts',
        ],
        resources: [lake.bucket.arnForObjects(`${sessions}*`)],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'LakeKeyViaS3',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` } },
      }),
    );
    // The application code: the jar object only (its S3ContentLocation names no ObjectVersion, so
    // the service reads the current object: s3:GetObject, not s3:GetObjectVersion).
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadApplicationCode',
        actions: ['s3:GetObject'],
        resources: [`arn:${Aws.PARTITION}:s3:::${jar.asset.s3BucketName}/${jar.asset.s3ObjectKey}`],
      }),
    );
    // Logging: the service finds the stream and writes the job's log to it with the role.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListApplicationLogStreams',
        actions: ['logs:DescribeLogStreams'],
        resources: [logGroupArn(`${logGroupName}:log-stream:*`)],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteApplicationLog',
        actions: ['logs:PutLogEvents'],
        resources: [logStreamArn],
      }),
    );
    // Statements the services define no resource scope for, in a policy of their own.
    this.unscopedPolicy = new iam.Policy(this, 'UnscopedActions', {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'VpcReadOnly',
          actions: [
            'ec2:DescribeVpcs',
            'ec2:DescribeSubnets',
            'ec2:DescribeSecurityGroups',
            'ec2:DescribeDhcpOptions',
          ],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'VpcNetworkInterfaces',
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:CreateNetworkInterfacePermission',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DeleteNetworkInterface',
          ],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'ListLogGroups',
          actions: ['logs:DescribeLogGroups'],
          resources: [logGroupArn('*')],
        }),
      ],
    });

    this.properties = sessionizeProperties(config, {
      bootstrapServers: props.bootstrapBrokers,
      securityProtocol: 'SASL_SSL',
      lakePath: lake.sessionsPath,
    });

    const subnetIds = props.vpc.selectSubnets(props.subnets).subnetIds;
    const vpcConfigurations = [{ subnetIds, securityGroupIds: [props.securityGroup.securityGroupId] }];
    const flinkApplicationConfiguration: kda.CfnApplication.FlinkApplicationConfigurationProperty = {
      checkpointConfiguration: {
        configurationType: 'CUSTOM',
        checkpointingEnabled: true,
        checkpointInterval: flink.checkpointIntervalSeconds * 1000,
        minPauseBetweenCheckpoints: flink.minPauseBetweenCheckpointsSeconds * 1000,
      },
      monitoringConfiguration: {
        configurationType: 'CUSTOM',
        logLevel: flink.logLevel,
        metricsLevel: flink.metricsLevel,
      },
      parallelismConfiguration: {
        configurationType: 'CUSTOM',
        parallelism: flink.parallelism,
        parallelismPerKpu: flink.parallelismPerKpu,
        autoScalingEnabled: flink.autoScaling,
      },
    };
    // How CloudFormation restarts a RUNNING application it updates (telemetry.flink.restore): from
    // the snapshot it takes, never dropping state the new program does not map (`latest`); dropping
    // it (`latest-allow-non-restored`); or without state (`skip`). The last two are one-deploy
    // overrides (docs/telemetry-path.md, "Deploy, update, delete").
    const runConfiguration: kda.CfnApplication.RunConfigurationProperty = {
      applicationRestoreConfiguration: {
        applicationRestoreType:
          flink.restore === 'skip' ? 'SKIP_RESTORE_FROM_SNAPSHOT' : 'RESTORE_FROM_LATEST_SNAPSHOT',
      },
      flinkRunConfiguration: { allowNonRestoredState: flink.restore === 'latest-allow-non-restored' },
    };
    this.application = new kda.CfnApplication(this, 'Application', {
      applicationName: this.applicationName,
      applicationDescription: `${config.platformName} ${config.envName}: sessionizes ${catalog.name('telemetryRaw')} into the lake and ${catalog.name('telemetryAlerts')} (docs/telemetry-path.md)`,
      runtimeEnvironment: SESSIONIZE_RUNTIME,
      serviceExecutionRole: this.role.roleArn,
      applicationConfiguration: {
        applicationCodeConfiguration: {
          codeContentType: 'ZIPFILE',
          codeContent: {
            s3ContentLocation: { bucketArn: jar.asset.bucket.bucketArn, fileKey: jar.asset.s3ObjectKey },
          },
        },
        flinkApplicationConfiguration,
        applicationSnapshotConfiguration: { snapshotsEnabled: true },
        // An update the new version cannot run (its state does not restore) returns to the old one.
        applicationSystemRollbackConfiguration: { rollbackEnabled: true },
        environmentProperties: {
          propertyGroups: [{ propertyGroupId: SESSIONIZE_PROPERTY_GROUP, propertyMap: this.properties }],
        },
        vpcConfigurations,
      },
      runConfiguration,
    });
    // The service checks the role (code, network, logs) when it creates the application.
    this.application.node.addDependency(this.role, this.unscopedPolicy);

    const logging = new kda.CfnApplicationCloudWatchLoggingOption(this, 'Logging', {
      applicationName: this.application.ref,
      cloudWatchLoggingOption: { logStreamArn },
    });

    // Start after create; after an update, start a stopped application from its latest snapshot.
    const common = { config, memorySize: 256, timeout: Duration.minutes(1) };
    this.startFunction = new PlatformFunction(this, 'StartOnEvent', {
      ...common,
      handlerDir: 'flink-start',
      description: `Starts the Managed Flink application ${this.applicationName} after create or update`,
    });
    this.startCompleteFunction = new PlatformFunction(this, 'StartIsComplete', {
      ...common,
      handlerDir: 'flink-start/complete',
      description: `Waits until the Managed Flink application ${this.applicationName} runs`,
    });
    const control = new iam.PolicyStatement({
      actions: [
        'kinesisanalytics:DescribeApplication',
        'kinesisanalytics:ListApplicationSnapshots',
        'kinesisanalytics:StartApplication',
      ],
      resources: [this.applicationArn],
    });
    this.startFunction.role.addToPolicy(control);
    this.startCompleteFunction.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kinesisanalytics:DescribeApplication'],
        resources: [this.applicationArn],
      }),
    );
    const provider = platformProvider(this, 'StartProvider', config, {
      onEventHandler: this.startFunction.fn,
      isCompleteHandler: this.startCompleteFunction.fn,
      queryInterval: START_QUERY_INTERVAL,
      totalTimeout: START_TOTAL_TIMEOUT,
    });
    // What the application is made of is in these properties too: the jar, the runtime, the
    // property group as the application gets it (topic names, group, bootstrap brokers, lake path:
    // the tokens resolve in CloudFormation), the Flink settings, the network and the run
    // configuration. Any change CloudFormation applies to the application also updates this
    // resource, so that an update that finds the application stopped starts it again. The code key,
    // runtime and properties are also what isComplete expects the running application to have: an
    // update the service rolled back (system rollback) runs the previous ones, and fails the deployment.
    const revision = createHash('sha256')
      .update(jar.asset.assetHash)
      .update(SESSIONIZE_RUNTIME)
      .update(JSON.stringify(config.telemetry))
      .digest('hex');
    this.start = new CustomResource(this, 'Start', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::FlinkApplicationStart',
      properties: {
        ApplicationName: this.application.ref,
        Revision: revision,
        CodeFileKey: jar.asset.s3ObjectKey,
        RuntimeEnvironment: SESSIONIZE_RUNTIME,
        PropertyGroups: { [SESSIONIZE_PROPERTY_GROUP]: this.properties },
        FlinkApplicationConfiguration: flinkApplicationConfiguration,
        VpcConfigurations: vpcConfigurations,
        RunConfiguration: runConfiguration,
        Restore: flink.restore,
      },
    });
    this.start.node.addDependency(logging);
    acknowledgeProviderFramework(provider, 'the start functions');
    NagSuppressions.addResourceSuppressions(
      provider,
      [
        {
          id: 'AwsSolutions-SF1',
          reason:
            "The provider framework's waiter state machine is CDK-managed; its handler functions log to CloudWatch.",
        },
        {
          id: 'AwsSolutions-SF2',
          reason:
            "The provider framework's waiter state machine is CDK-managed; X-Ray is on in the handler functions.",
        },
      ],
      true,
    );

    NagSuppressions.addResourceSuppressions(this.unscopedPolicy, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'The EC2 read and network-interface actions Managed Flink needs in a VPC (its VPC permissions page) and logs:DescribeLogGroups support no resource-level permissions (DescribeLogGroups: any group of the account and region, read-only). Every other statement of the role is scoped.',
        appliesTo: [
          'Resource::*',
          'Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*',
        ],
      },
    ]);
    NagSuppressions.addResourceSuppressions(
      this.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "Object keys below the lake's sessions/ prefix (the job's part files, named by Flink) and the streams of the application's own log group.",
          appliesTo: [
            { regex: '/^Resource::<.*Bucket.*\\.Arn>/sessions/\\*$/g' },
            {
              regex:
                '/^Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<.*>:log-stream:\\*$/g',
            },
          ],
        },
      ],
      true,
    );

    new ssm.StringParameter(this, 'ApplicationNameParameter', {
      parameterName: `/${config.platformName}/${config.envName}/telemetry/sessionize-application`,
      description: 'Name of the sessionize Managed Flink application',
      stringValue: this.application.ref,
    });
    new CfnOutput(this, 'ApplicationNameOutput', {
      value: this.application.ref,
      description: 'Name of the sessionize Managed Flink application',
    });
  }
}
