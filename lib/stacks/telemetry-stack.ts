import { Annotations, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import type { PlatformNetwork } from '../network/platform-network';
import { TelemetryAlerting } from '../telemetry/alerting';
import { SessionLake } from '../telemetry/lake';
import { SessionizeApplication } from '../telemetry/sessionize-application';
import { SessionizeJar } from '../telemetry/sessionize-jar';
import type { StreamingStack } from './streaming-stack';

export interface TelemetryStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly network: PlatformNetwork;
  readonly streaming: StreamingStack;
}

/**
 * The telemetry path (docs/telemetry-path.md): the S3 lake with its Glue table and Athena workgroup,
 * the sessionize job on Managed Service for Apache Flink, and the alerting consumer with its SNS topic.
 */
export class TelemetryStack extends Stack {
  public readonly lake: SessionLake;
  public readonly jar: SessionizeJar;
  public readonly sessionize: SessionizeApplication;
  public readonly alerting: TelemetryAlerting;

  constructor(scope: Construct, id: string, props: TelemetryStackProps) {
    super(scope, id, props);
    const { config, network, streaming } = props;
    const { catalog } = streaming;
    // Referenced, not owned (as in the events stack): grants go to the principals' policies here.
    const key = kms.Key.fromKeyArn(this, 'PlatformKey', streaming.key.key.keyArn);

    this.lake = new SessionLake(this, 'Lake', { config, key });
    this.jar = new SessionizeJar(this, 'SessionizeJar');
    this.sessionize = new SessionizeApplication(this, 'Sessionize', {
      config,
      catalog,
      bootstrapBrokers: streaming.bootstrapBrokers.iam,
      key,
      lake: this.lake,
      jar: this.jar,
      vpc: network.vpc,
      subnets: network.privateSubnets,
      securityGroup: network.securityGroup('flink'),
    });

    this.alerting = new TelemetryAlerting(this, 'Alerting', {
      config,
      catalog,
      cluster: streaming.cluster,
      bootstrapBrokers: streaming.bootstrapBrokers.iam,
      key,
      vpc: network.vpc,
      securityGroup: network.securityGroup('alerting'),
    });

    if (config.telemetry.alerting.subscriptions.length === 0) {
      Annotations.of(this).addWarning(
        `${config.envName}: the telemetry alerts reach nobody: the alerting topic has no subscription. List the addresses in environments.${config.envName}.telemetry.alerting.subscriptions.`,
      );
    }
    if (config.removeDataOnDestroy) {
      Annotations.of(this).addWarning(
        `${config.envName}: removeDataOnDestroy is true, so the lake buckets, the application's log group and the alerting state table are destroyed with this stack.`,
      );
    }
  }
}
