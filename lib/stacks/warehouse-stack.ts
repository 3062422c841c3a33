import { Annotations, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import type { PlatformNetwork } from '../network/platform-network';
import { SnowflakeSink } from '../warehouse/snowflake-sink';
import type { StreamingStack } from './streaming-stack';

export interface WarehouseStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly network: PlatformNetwork;
  readonly streaming: StreamingStack;
}

/**
 * The warehouse: the Snowflake sink connector on MSK Connect, landing events.aggregates in
 * Snowflake. Only in an environment whose configuration names a Snowflake account.
 */
export class WarehouseStack extends Stack {
  public readonly sink: SnowflakeSink;

  constructor(scope: Construct, id: string, props: WarehouseStackProps) {
    super(scope, id, props);
    const { config, network, streaming } = props;
    this.sink = new SnowflakeSink(this, 'SnowflakeSink', {
      config,
      catalog: streaming.catalog,
      cluster: streaming.cluster,
      bootstrapBrokers: streaming.bootstrapBrokers.iam,
      vpc: network.vpc,
      securityGroup: network.securityGroup('warehouse'),
    });
    if (config.removeDataOnDestroy) {
      Annotations.of(this).addWarning(
        `${config.envName}: removeDataOnDestroy is true, so the connector's log groups are destroyed with this stack (the rows in Snowflake are not touched).`,
      );
    }
  }
}
