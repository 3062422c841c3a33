import { Annotations, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { azsWithoutLookup, PlatformNetwork } from '../network/platform-network';

export interface NetworkStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/** The environment's network: VPC, endpoints and per-component security groups. */
export class NetworkStack extends Stack {
  public readonly network: PlatformNetwork;
  private readonly azCount: number;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    this.azCount = props.config.network.maxAzs;
    this.network = new PlatformNetwork(this, 'Network', { config: props.config });
    if (props.config.removeDataOnDestroy) {
      Annotations.of(this).addWarning(
        `${props.config.envName}: removeDataOnDestroy is true, so the VPC flow logs, the prefix-list lookup's log group and the network key that encrypts them are destroyed with this stack.`,
      );
    }
  }

  /** `maxAzs` AZs picked with `Fn::GetAZs`, so no synth-time lookup is needed in any mode. */
  public override get availabilityZones(): string[] {
    return azsWithoutLookup(this, this.azCount);
  }
}
