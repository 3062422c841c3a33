import { Annotations, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { OrdersCdc } from '../cdc/orders-cdc';
import { EventIngest } from '../ingest/event-ingest';
import { IotTelemetryBridge } from '../iot/iot-telemetry-bridge';
import type { PlatformNetwork } from '../network/platform-network';
import type { StreamingStack } from './streaming-stack';

export interface SourcesStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly network: PlatformNetwork;
  readonly streaming: StreamingStack;
}

/** The three source families into MSK: app-event ingest, CDC from PostgreSQL, the MQTT bridge. */
export class SourcesStack extends Stack {
  public readonly ingest: EventIngest;
  public readonly cdc: OrdersCdc;
  public readonly iotBridge: IotTelemetryBridge;

  constructor(scope: Construct, id: string, props: SourcesStackProps) {
    super(scope, id, props);
    const { config, network, streaming } = props;
    // Referenced, not owned: grants then go to the principals' policies in this stack (the key policy
    // trusts the account), instead of editing the streaming stack's key policy, which would make
    // the two stacks depend on each other.
    const key = kms.Key.fromKeyArn(this, 'PlatformKey', streaming.key.key.keyArn);
    const scramSecret = secretsmanager.Secret.fromSecretAttributes(this, 'ScramSecret', {
      secretCompleteArn: streaming.cluster.scramSecret.secretArn,
      encryptionKey: key,
    });
    this.ingest = new EventIngest(this, 'EventIngest', {
      config,
      catalog: streaming.catalog,
      bootstrapBrokers: streaming.bootstrapBrokers.iam,
      vpc: network.vpc,
      securityGroup: network.securityGroup('ingest'),
    });
    this.cdc = new OrdersCdc(this, 'OrdersCdc', {
      config,
      catalog: streaming.catalog,
      cluster: streaming.cluster,
      bootstrapBrokers: streaming.bootstrapBrokers.iam,
      vpc: network.vpc,
      securityGroup: network.securityGroup('connect'),
      key,
    });
    this.iotBridge = new IotTelemetryBridge(this, 'IotBridge', {
      config,
      scramBootstrapBrokers: streaming.bootstrapBrokers.scram,
      scramSecret,
      key,
      vpc: network.vpc,
      securityGroup: network.securityGroup('iotBridge'),
      cluster: streaming.cluster,
      iamBootstrapBrokers: streaming.bootstrapBrokers.iam,
      adminSecurityGroup: network.securityGroup('admin'),
    });
    if (config.removeDataOnDestroy) {
      Annotations.of(this).addWarning(
        `${config.envName}: removeDataOnDestroy is true, so the orders database (no final snapshot), its secrets and the log groups are destroyed with this stack (the MQTT bridge's buckets are kept in every environment).`,
      );
    }
  }
}
