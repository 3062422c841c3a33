import type { App } from 'aws-cdk-lib';
import { Annotations, Aspects, Tags } from 'aws-cdk-lib';
import type { EnvironmentConfig } from './config/platform-config';
import { EncryptLogGroups } from './security/encrypt-log-groups';
import { EventsStack } from './stacks/events-stack';
import { MonitoringStack } from './stacks/monitoring-stack';
import { NetworkStack } from './stacks/network-stack';
import { SourcesStack } from './stacks/sources-stack';
import { StreamingStack } from './stacks/streaming-stack';
import { TelemetryStack } from './stacks/telemetry-stack';
import { WarehouseStack } from './stacks/warehouse-stack';

/** The stacks of one environment. */
export interface PlatformStacks {
  readonly network: NetworkStack;
  readonly streaming: StreamingStack;
  readonly sources: SourcesStack;
  readonly events: EventsStack;
  readonly telemetry: TelemetryStack;
  /** Only when `environments.<env>.warehouse.snowflake` names an account. */
  readonly warehouse?: WarehouseStack;
  readonly monitoring: MonitoringStack;
}

/**
 * Builds one environment's stacks: `<platform>-<env>-network`, `-streaming`, `-sources`, `-events`
 * and `-telemetry`, `-warehouse` when the environment configures a Snowflake account (otherwise
 * synth warns that the Snowflake sink connector is not created), and `-monitoring` (the dashboard
 * and every alarm) last.
 */
export function buildEnvironment(app: App, config: EnvironmentConfig): PlatformStacks {
  const env =
    config.account || config.region ? { account: config.account, region: config.region } : undefined;
  const prefix = `${config.platformName}-${config.envName}`;
  const network = new NetworkStack(app, `${prefix}-network`, {
    env,
    config,
    description: `${config.platformName} ${config.envName}: VPC, endpoints, security groups`,
  });
  const streaming = new StreamingStack(app, `${prefix}-streaming`, {
    env,
    config,
    network: network.network,
    description: `${config.platformName} ${config.envName}: MSK cluster, topic catalog, alarms`,
  });
  const sources = new SourcesStack(app, `${prefix}-sources`, {
    env,
    config,
    network: network.network,
    streaming,
    description: `${config.platformName} ${config.envName}: app-event ingest, CDC from PostgreSQL, MQTT bridge`,
  });
  const events = new EventsStack(app, `${prefix}-events`, {
    env,
    config,
    network: network.network,
    streaming,
    description: `${config.platformName} ${config.envName}: enrich and aggregate consumers, their state tables, OpenSearch`,
  });
  const telemetry = new TelemetryStack(app, `${prefix}-telemetry`, {
    env,
    config,
    network: network.network,
    streaming,
    description: `${config.platformName} ${config.envName}: sessionize job on Managed Flink, the S3 lake with Glue and Athena`,
  });
  const warehouse = config.warehouse.snowflake
    ? new WarehouseStack(app, `${prefix}-warehouse`, {
        env,
        config,
        network: network.network,
        streaming,
        description: `${config.platformName} ${config.envName}: the Snowflake sink connector on MSK Connect`,
      })
    : undefined;
  const monitoring = new MonitoringStack(app, `${prefix}-monitoring`, {
    env,
    config,
    streaming,
    sources,
    events,
    telemetry,
    ...(warehouse ? { warehouse } : {}),
    description: `${config.platformName} ${config.envName}: the dashboard and every alarm, to the ops topic`,
  });
  if (!warehouse)
    Annotations.of(events).addWarningV2(
      'platform:warehouse-not-configured',
      `environments.${config.envName}.warehouse.snowflake is not configured: the Snowflake sink connector is not created and events.aggregates reaches OpenSearch only (docs/warehouse.md says how to connect an account)`,
    );
  // Every log group from the streaming stack on is encrypted with the platform key.
  for (const stack of [streaming, sources, events, telemetry, ...(warehouse ? [warehouse] : [])])
    Aspects.of(stack).add(new EncryptLogGroups(streaming.key.key.keyArn));
  for (const stack of [
    network,
    streaming,
    sources,
    events,
    telemetry,
    ...(warehouse ? [warehouse] : []),
    monitoring,
  ]) {
    // Dashboards took Tags in CloudFormation in 2026; cfn-lint 1.51.0's schema predates that and
    // rejects them (E3002), and a dashboard's name already says its platform and environment.
    const untagged = { excludeResourceTypes: ['AWS::CloudWatch::Dashboard'] };
    Tags.of(stack).add('platform', config.platformName, untagged);
    Tags.of(stack).add('environment', config.envName, untagged);
  }
  return { network, streaming, sources, events, telemetry, ...(warehouse ? { warehouse } : {}), monitoring };
}
