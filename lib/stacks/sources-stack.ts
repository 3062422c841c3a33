import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { EventIngest } from '../ingest/event-ingest';
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

  constructor(scope: Construct, id: string, props: SourcesStackProps) {
    super(scope, id, props);
    const { config, network, streaming } = props;
    this.ingest = new EventIngest(this, 'EventIngest', {
      config,
      catalog: streaming.catalog,
      bootstrapBrokers: streaming.bootstrapBrokers.iam,
      vpc: network.vpc,
      securityGroup: network.securityGroup('ingest'),
      alarmTopic: streaming.alarms.alarmTopic,
    });
  }
}
