import { Annotations, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import type { PlatformNetwork } from '../network/platform-network';
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
 * and the sessionize job on Managed Service for Apache Flink.
 */
export class TelemetryStack extends Stack {
  public readonly lake: SessionLake;
  public readonly jar: SessionizeJar;
  public readonly sessionize: SessionizeApplication;

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

    if (config.removeDataOnDestroy) {
      Annotations.of(this).addWarning(
        `${config.envName}: removeDataOnDestroy is true, so the lake buckets and the application's log group are destroyed with this stack.`,
      );
    }
  }
}
