import type { StackProps } from 'aws-cdk-lib';
import { Duration, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { PlatformMonitoring, type MonitoredConnector } from '../monitoring/platform-monitoring';
import type { EventsStack } from './events-stack';
import type { SourcesStack } from './sources-stack';
import type { StreamingStack } from './streaming-stack';
import type { TelemetryStack } from './telemetry-stack';
import type { WarehouseStack } from './warehouse-stack';

export interface MonitoringStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly streaming: StreamingStack;
  readonly sources: SourcesStack;
  readonly events: EventsStack;
  readonly telemetry: TelemetryStack;
  readonly warehouse?: WarehouseStack;
}

/**
 * The environment's dashboard and every platform alarm (lib/monitoring/platform-monitoring.ts),
 * deployed after the stacks it watches. It holds no data: alarms and a dashboard only.
 */
export class MonitoringStack extends Stack {
  public readonly monitoring: PlatformMonitoring;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const { config, streaming, sources, events, telemetry, warehouse } = props;
    const consumer = (name: string, c: EventsStack['enrich']) => ({
      name,
      function: c.function.fn,
      timeout: Duration.seconds(c.timing.timeoutSeconds),
      kafkaConsumer: true,
    });
    const connectors: MonitoredConnector[] = [
      { id: 'OrdersCdc', name: sources.cdc.connectorName, tasks: 1 },
      ...(warehouse
        ? [{ id: 'SnowflakeSink', name: warehouse.sink.connectorName, tasks: warehouse.sink.tasksMax }]
        : []),
    ];
    this.monitoring = new PlatformMonitoring(this, 'Monitoring', {
      config,
      alarmTopic: streaming.alarmTopic.topic,
      clusterName: streaming.cluster.clusterName,
      functions: [
        {
          name: 'ingest',
          function: sources.ingest.function.fn,
          timeout: sources.ingest.timeout,
          kafkaConsumer: false,
        },
        consumer('enrich', events.enrich),
        consumer('aggregate', events.aggregate),
        consumer('alerting', telemetry.alerting.consumer),
      ],
      ingestApi: sources.ingest.api,
      iotRuleName: sources.iotBridge.rendered.ruleName,
      connectors,
      ...(sources.cdc.database ? { database: sources.cdc.database } : {}),
      searchDomain: events.search.domain,
      flinkApplicationName: telemetry.sessionize.applicationName,
      flinkCheckpointInterval: Duration.seconds(config.telemetry.flink.checkpointIntervalSeconds),
      alertTopic: telemetry.alerting.topic,
    });
  }
}
