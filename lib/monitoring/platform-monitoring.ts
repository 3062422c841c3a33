import { Duration } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as sns from 'aws-cdk-lib/aws-sns';
import {
  DashboardRenderingPreference,
  DefaultDashboardFactory,
  MonitoringFacade,
  OpenSearchClusterStatus,
  SnsAlarmActionStrategy,
  type CustomMetricGroup,
  type CustomMetricWithAlarm,
} from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { parseErrorMetric } from '../iot/telemetry-bridge';
import { TOPIC_IDS, TOPIC_SPECS, type TopicSpec } from '../topics/topic-specs';

/** A Lambda function the platform runs, with what kind of work it does. */
export interface MonitoredFunction {
  /** Short name on the dashboard and in alarm names, e.g. `enrich`. */
  readonly name: string;
  readonly function: lambda.IFunction;
  /** Its timeout: the p99 duration alarm is a share of it. */
  readonly timeout: Duration;
  /** It is invoked by MSK event source mappings: alarm on their offset lag too. */
  readonly kafkaConsumer: boolean;
}

/** An MSK Connect connector (its metrics' `ConnectorName` dimension). */
export interface MonitoredConnector {
  /** Short name in alarm names, e.g. `OrdersCdc`. */
  readonly id: string;
  /** The connector's name. */
  readonly name: string;
  /** The tasks it runs when healthy: fewer running for 15 minutes is an alarm. */
  readonly tasks: number;
}

export interface PlatformMonitoringProps {
  readonly config: EnvironmentConfig;
  /** The ops topic (streaming stack): every alarm, on alarm and back to OK. */
  readonly alarmTopic: sns.ITopic;
  readonly clusterName: string;
  readonly functions: readonly MonitoredFunction[];
  readonly ingestApi: apigateway.IRestApi;
  /** The IoT Core rule of the MQTT bridge (`AWS/IoT` metrics by `RuleName`). */
  readonly iotRuleName: string;
  readonly connectors: readonly MonitoredConnector[];
  /** The orders database, when the platform creates it (an external one is its owner's to watch). */
  readonly database?: rds.IDatabaseInstance;
  readonly searchDomain: opensearch.IDomain;
  readonly flinkApplicationName: string;
  /** The checkpoint interval of the Flink application (slow-checkpoint alarm). */
  readonly flinkCheckpointInterval: Duration;
  readonly alertTopic: sns.ITopic;
}

const FIVE_MINUTES = Duration.minutes(5);

/** The dead-letter alarms' threshold on a topic's BytesInPerSec (see where it is used). */
export const DEAD_LETTER_BYTES_PER_SECOND = 0.1;

/** A metric id fragment from a topic name (ids are `[a-z][a-zA-Z0-9_]*`, unique per graph). */
function stem(topic: string): string {
  return topic.replace(/[^A-Za-z0-9]/g, '_').toLowerCase();
}

/**
 * The environment's monitoring (README "Monitoring and alarms"): one CloudWatch dashboard,
 * `<platform>-<env>`, built with cdk-monitoring-constructs, and every platform alarm, each sending to
 * the ops topic on alarm and back to OK, thresholds from `environments.<env>.monitoring`.
 *
 * cdk-monitoring-constructs monitors Lambda (errors, throttles, p99 duration against the timeout,
 * the event source mappings' offset lag), Managed Flink, OpenSearch, RDS, API Gateway and SNS; MSK,
 * MSK Connect, the MQTT bridge's rule and the dead-letter topics have no monitor there, so they are
 * its custom monitoring over the metrics those services publish:
 * - MSK (`AWS/Kafka`, DEFAULT level, which every environment has): per broker data-disk use,
 *   partitions under min ISR, under-replicated partitions and CPU (user + system); the cluster's
 *   `OfflinePartitionsCount`. That one is a controller metric in Kafka: MSK documents it at the
 *   DEFAULT level by cluster name, but whether it publishes it for a KRaft cluster (whose
 *   controllers are not brokers) is to be confirmed with `aws cloudwatch list-metrics` on a live
 *   cluster; the per-broker under-min-ISR alarm covers the same failure from the brokers' side.
 *   No alarm on ActiveControllerCount: a KRaft controller metric MSK does not expose.
 * - Dead-letter topics: `BytesInPerSec` of each `dlq.*` topic summed over the brokers (a DEFAULT
 *   level metric, per broker and topic) above 0.1 B/s. Whoever writes there (our consumers' `dlq.*`
 *   records, an event source mapping's on-failure destination, Kafka Connect's dead-letter queue,
 *   the Flink job), a record raises the alarm of that topic.
 * - The MQTT bridge's rule: `ParseError` (by `RuleName`); the Kafka action's `Failure` and the error
 *   action's `ErrorActionFailure`, which carry `RuleName` and `ActionType`, through a Metrics
 *   Insights query over both.
 * - MSK Connect (`AWS/KafkaConnect` by `ConnectorName`): errored tasks, and fewer running tasks than
 *   the connector runs (missing data breaches: a deleted or failed connector publishes nothing).
 * - The Debezium replication slot (RDS `OldestReplicationSlotLag`, `TransactionLogsDiskUsage`), below
 *   the database's `max_slot_wal_keep_size`, at which PostgreSQL would invalidate the slot.
 */
export class PlatformMonitoring extends Construct {
  public readonly facade: MonitoringFacade;
  public readonly dashboardName: string;

  constructor(scope: Construct, id: string, props: PlatformMonitoringProps) {
    super(scope, id);
    const { config, clusterName } = props;
    const thresholds = config.monitoring;
    const prefix = `${config.platformName}-${config.envName}`;
    this.dashboardName = prefix;
    const action = new SnsAlarmActionStrategy({
      onAlarmTopic: props.alarmTopic,
      onOkTopic: props.alarmTopic,
    });
    this.facade = new MonitoringFacade(this, 'Facade', {
      alarmFactoryDefaults: { alarmNamePrefix: prefix, actionsEnabled: true, action, datapointsToAlarm: 1 },
      metricFactoryDefaults: { period: FIVE_MINUTES },
      // One dashboard per environment: no summary or alarm-only copies.
      dashboardFactory: new DefaultDashboardFactory(this, 'Dashboards', {
        dashboardNamePrefix: prefix,
        createDashboard: true,
        createSummaryDashboard: false,
        createAlarmDashboard: false,
        renderingPreference: DashboardRenderingPreference.INTERACTIVE_ONLY,
      }),
    });
    this.facade.addLargeHeader(`${config.platformName} ${config.envName}`);

    // ---- MSK ----
    const kafka = (metricName: string, dims: Record<string, string>, statistic: string, label: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Kafka',
        metricName,
        dimensionsMap: { 'Cluster Name': clusterName, ...dims },
        statistic,
        period: FIVE_MINUTES,
        label,
      });
    const brokers = Array.from({ length: config.msk.brokerCount }, (_, i) => String(i + 1));
    const perBroker = (
      name: string,
      make: (broker: string) => cloudwatch.Metric | cloudwatch.MathExpression,
      alarm: (broker: string) => CustomMetricWithAlarm['addAlarm'],
    ): CustomMetricWithAlarm[] =>
      brokers.map((broker) => ({
        metric: make(broker),
        alarmFriendlyName: `Broker${broker}${name}`,
        addAlarm: alarm(broker),
      }));
    const greaterThan = (
      threshold: number,
      periods: number,
      description: string,
      missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) => ({
      Critical: {
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        treatMissingDataOverride: missing,
        alarmDescriptionOverride: description,
      },
    });
    const lessThan = (threshold: number, periods: number, description: string) => ({
      Critical: {
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        treatMissingDataOverride: cloudwatch.TreatMissingData.BREACHING,
        alarmDescriptionOverride: description,
      },
    });
    const mskGroups: CustomMetricGroup[] = [
      {
        title: 'Partitions without a leader',
        metrics: [
          {
            metric: kafka('OfflinePartitionsCount', {}, 'Maximum', 'offline partitions'),
            alarmFriendlyName: 'OfflinePartitions',
            addAlarm: greaterThan(
              0,
              1,
              `${clusterName}: partitions without a leader; producers and consumers of them are stuck`,
            ),
          },
        ],
      },
      {
        title: 'Data disk used (%)',
        metrics: perBroker(
          'DiskUsed',
          (b) => kafka('KafkaDataLogsDiskUsed', { 'Broker ID': b }, 'Maximum', `broker ${b}`),
          (b) =>
            greaterThan(
              config.msk.diskUsedAlarmPercent,
              2,
              `${clusterName} broker ${b}: data disk above ${config.msk.diskUsedAlarmPercent}% for 10 minutes; grow storage or cut retention (docs/runbooks/scale-brokers-and-storage.md)`,
            ),
        ),
      },
      {
        // The broker-side signal of partitions that refuse acks=all writes (producers of the
        // platform all use them): fewer in-sync replicas than min.insync.replicas.
        title: 'Partitions under min ISR',
        metrics: perBroker(
          'UnderMinIsr',
          (b) => kafka('UnderMinIsrPartitionCount', { 'Broker ID': b }, 'Maximum', `broker ${b}`),
          (b) =>
            greaterThan(
              0,
              1,
              `${clusterName} broker ${b}: partitions with fewer in-sync replicas than min.insync.replicas; acks=all producers of them fail`,
            ),
        ),
      },
      {
        title: 'Under-replicated partitions',
        metrics: perBroker(
          'UnderReplicated',
          (b) => kafka('UnderReplicatedPartitions', { 'Broker ID': b }, 'Maximum', `broker ${b}`),
          (b) => greaterThan(0, 3, `${clusterName} broker ${b}: under-replicated partitions for 15 minutes`),
        ),
      },
      {
        title: 'Broker CPU user + system (%)',
        metrics: perBroker(
          'Cpu',
          (b) =>
            new cloudwatch.MathExpression({
              // Metric ids are unique per graph, which holds every broker's expression.
              expression: `user${b} + system${b}`,
              usingMetrics: {
                [`user${b}`]: kafka('CpuUser', { 'Broker ID': b }, 'Average', 'user'),
                [`system${b}`]: kafka('CpuSystem', { 'Broker ID': b }, 'Average', 'system'),
              },
              period: FIVE_MINUTES,
              label: `broker ${b}`,
            }),
          (b) =>
            greaterThan(
              thresholds.brokerCpuPercent,
              3,
              `${clusterName} broker ${b}: CPU above ${thresholds.brokerCpuPercent}% for 15 minutes`,
            ),
        ),
      },
    ];
    this.facade.monitorCustom({
      alarmFriendlyName: 'Msk',
      humanReadableName: `MSK cluster ${clusterName}`,
      metricGroups: mskGroups,
    });

    // ---- Dead-letter topics: any record arriving ----
    const deadLetterTopics = TOPIC_IDS.map((id) => TOPIC_SPECS[id] as TopicSpec).filter(
      (spec) => spec.deadLetterFor !== undefined,
    );
    this.facade.monitorCustom({
      alarmFriendlyName: 'DeadLetters',
      humanReadableName: 'Records arriving in dead-letter topics (bytes/s, all brokers)',
      metricGroups: [
        {
          title: 'Dead-letter topics: bytes in per second',
          metrics: deadLetterTopics.map((spec) => ({
            metric: new cloudwatch.MathExpression({
              expression: brokers.map((b) => `FILL(${stem(spec.name)}b${b}, 0)`).join(' + '),
              usingMetrics: Object.fromEntries(
                brokers.map((b) => [
                  `${stem(spec.name)}b${b}`,
                  kafka('BytesInPerSec', { 'Broker ID': b, Topic: spec.name }, 'Maximum', spec.name),
                ]),
              ),
              period: FIVE_MINUTES,
              label: spec.name,
            }),
            alarmFriendlyName: spec.deadLetterFor!,
            // BytesInPerSec is a decaying one-minute rate: after a burst it falls towards 0 without
            // reaching it for a long time, so "> 0" would keep the alarm on (and silent for the next
            // arrivals). 0.1 B/s: one small record (a few hundred bytes) crosses it; the alarm clears
            // a few minutes after the last arrival.
            addAlarm: greaterThan(
              DEAD_LETTER_BYTES_PER_SECOND,
              1,
              `${spec.name}: records arrived in the dead-letter topic of ${spec.deadLetterFor!}; read their reason (docs/ops-cli.md), fix, then replay (docs/runbooks/replay-a-dead-letter-topic.md)`,
            ),
          })),
        },
      ],
    });

    // ---- Lambda functions (and the offset lag of the event source mappings) ----
    for (const fn of props.functions) {
      this.facade.monitorLambdaFunction({
        lambdaFunction: fn.function,
        alarmFriendlyName: fn.name,
        humanReadableName: `${fn.name} function`,
        isOffsetLag: fn.kafkaConsumer,
        addFaultCountAlarm: {
          Critical: {
            maxErrorCount: 0,
            alarmDescriptionOverride: `${fn.name}: failed invocations; a consumer's batch that keeps failing ends in its dead-letter topic in Lambda's on-failure format`,
          },
        },
        addThrottlesCountAlarm: {
          Critical: {
            maxErrorCount: 0,
            datapointsToAlarm: 3,
            evaluationPeriods: 3,
            alarmDescriptionOverride: `${fn.name}: throttled for 15 minutes (concurrency limit reached)`,
          },
        },
        addLatencyP99Alarm: {
          Critical: {
            maxLatency: Duration.millis(
              Math.floor((fn.timeout.toMilliseconds() * thresholds.lambdaDurationPercentOfTimeout) / 100),
            ),
            datapointsToAlarm: 3,
            evaluationPeriods: 3,
            alarmDescriptionOverride: `${fn.name}: p99 duration above ${thresholds.lambdaDurationPercentOfTimeout}% of its ${fn.timeout.toSeconds()} s timeout for 15 minutes`,
          },
        },
        ...(fn.kafkaConsumer
          ? {
              addMaxOffsetLagAlarm: {
                Critical: {
                  maxOffsetLag: thresholds.maxOffsetLagRecords,
                  datapointsToAlarm: 3,
                  evaluationPeriods: 3,
                  alarmDescriptionOverride: `${fn.name}: an event source mapping is more than ${thresholds.maxOffsetLagRecords} records behind for 15 minutes (npm run ops -- status)`,
                },
              },
            }
          : {}),
      });
    }

    // ---- The ingest API ----
    this.facade.monitorApiGateway({
      api: props.ingestApi,
      alarmFriendlyName: 'IngestApi',
      humanReadableName: 'Ingest API (POST /events)',
      add5XXFaultCountAlarm: {
        Critical: {
          maxErrorCount: 5,
          datapointsToAlarm: 2,
          evaluationPeriods: 2,
          alarmDescriptionOverride:
            'ingest API answered 5xx more than 5 times in 5 minutes, twice (Kafka unavailable or function failing)',
        },
      },
    });

    // ---- The MQTT bridge's rule ----
    const parseErrors = parseErrorMetric(props.iotRuleName);
    const iot = (metricName: string, label: string) =>
      new cloudwatch.Metric({
        namespace: parseErrors.namespace,
        metricName,
        dimensionsMap: parseErrors.dimensions,
        statistic: 'Sum',
        period: FIVE_MINUTES,
        label,
      });
    const actionMetric = (metricName: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SELECT SUM(${metricName}) FROM SCHEMA("AWS/IoT", ActionType, RuleName) WHERE RuleName = '${props.iotRuleName}'`,
        usingMetrics: {},
        period: FIVE_MINUTES,
        label,
      });
    this.facade.monitorCustom({
      alarmFriendlyName: 'MqttBridge',
      humanReadableName: `MQTT bridge rule ${props.iotRuleName}`,
      metricGroups: [
        {
          title: 'Rule failures',
          metrics: [
            {
              metric: iot(parseErrors.metricName, 'payloads that are not JSON objects'),
              alarmFriendlyName: 'ParseErrors',
              addAlarm: greaterThan(
                0,
                1,
                `${props.iotRuleName}: payloads that are not JSON objects (kept only by the raw capture rule)`,
              ),
            },
            {
              // Rule action metrics carry RuleName and ActionType: a query over both dimensions
              // finds the rule's failures whatever CloudWatch names the Kafka action's type.
              metric: actionMetric('Failure', 'Kafka action failures'),
              alarmFriendlyName: 'ActionFailures',
              addAlarm: greaterThan(
                0,
                1,
                `${props.iotRuleName}: Kafka deliveries that failed (kept as error documents)`,
              ),
            },
            {
              metric: actionMetric('ErrorActionFailure', 'error action failures'),
              alarmFriendlyName: 'ErrorActionFailures',
              addAlarm: greaterThan(
                0,
                1,
                `${props.iotRuleName}: the error action failed too: a failed delivery was not kept as an error document (messages lost)`,
              ),
            },
          ],
        },
      ],
    });

    // ---- MSK Connect ----
    for (const connector of props.connectors) {
      const connect = (metricName: string, statistic: string, label: string) =>
        new cloudwatch.Metric({
          namespace: 'AWS/KafkaConnect',
          metricName,
          dimensionsMap: { ConnectorName: connector.name },
          statistic,
          period: FIVE_MINUTES,
          label,
        });
      this.facade.monitorCustom({
        alarmFriendlyName: connector.id,
        humanReadableName: `MSK Connect ${connector.name}`,
        metricGroups: [
          {
            title: 'Tasks',
            metrics: [
              {
                metric: connect('ErroredTaskCount', 'Maximum', 'errored tasks'),
                alarmFriendlyName: 'ErroredTasks',
                addAlarm: greaterThan(
                  0,
                  1,
                  `${connector.name}: a task failed; the worker log group has the stack trace`,
                ),
              },
              {
                metric: connect('RunningTaskCount', 'Minimum', 'running tasks'),
                alarmFriendlyName: 'RunningTasks',
                addAlarm: lessThan(
                  connector.tasks,
                  3,
                  `${connector.name}: fewer than ${connector.tasks} running task(s) for 15 minutes (connector failed, stopped or deleted)`,
                ),
              },
            ],
          },
          {
            title: 'Workers',
            metrics: [
              connect('WorkerCount', 'Minimum', 'workers'),
              connect('CpuUtilization', 'Maximum', 'CPU %'),
              connect('MemoryUtilization', 'Maximum', 'memory %'),
            ],
          },
        ],
      });
    }

    // ---- The Debezium replication slot ----
    if (props.database) {
      const instance = props.database.instanceIdentifier;
      const pg = (metricName: string, label: string) =>
        new cloudwatch.Metric({
          namespace: 'AWS/RDS',
          metricName,
          dimensionsMap: { DBInstanceIdentifier: instance },
          statistic: 'Maximum',
          period: FIVE_MINUTES,
          label,
        });
      const keep = config.cdc.rds.maxSlotWalKeepSizeMiB;
      // CloudWatch gets both metrics in bytes (the RDS console shows MB).
      const MIB = 1024 * 1024;
      this.facade.monitorRdsInstance({
        instance: props.database,
        alarmFriendlyName: 'OrdersDb',
        humanReadableName: 'Orders database',
      });
      this.facade.monitorCustom({
        alarmFriendlyName: 'ReplicationSlot',
        humanReadableName: `Debezium replication slot ${config.cdc.slotName} (max_slot_wal_keep_size ${keep} MB)`,
        metricGroups: [
          {
            title: 'WAL held back (bytes)',
            metrics: [
              {
                metric: pg('OldestReplicationSlotLag', 'oldest slot lag'),
                alarmFriendlyName: 'SlotLag',
                addAlarm: greaterThan(
                  thresholds.replicationSlotLagMiB * MIB,
                  3,
                  `orders database: the replication slot holds more than ${thresholds.replicationSlotLagMiB} MB of WAL for 15 minutes; at ${keep} MB PostgreSQL invalidates it and CDC needs a new snapshot (is the connector running?)`,
                ),
              },
              {
                metric: pg('TransactionLogsDiskUsage', 'transaction logs on disk'),
                alarmFriendlyName: 'TransactionLogs',
                addAlarm: greaterThan(
                  thresholds.transactionLogsDiskMiB * MIB,
                  3,
                  `orders database: transaction logs use more than ${thresholds.transactionLogsDiskMiB} MB of disk for 15 minutes`,
                ),
              },
            ],
          },
        ],
      });
    }

    // ---- OpenSearch ----
    this.facade.monitorOpenSearchCluster({
      domain: props.searchDomain,
      alarmFriendlyName: 'Search',
      humanReadableName: 'Search domain',
      addClusterStatusAlarm: {
        Red: { status: OpenSearchClusterStatus.RED },
        Yellow: { status: OpenSearchClusterStatus.YELLOW, datapointsToAlarm: 3, evaluationPeriods: 3 },
      },
      addJvmMemoryPressureAlarm: {
        Critical: {
          maxUsagePercent: thresholds.openSearchJvmPressurePercent,
          datapointsToAlarm: 3,
          evaluationPeriods: 3,
        },
      },
    });

    // The fullest node, not the cluster's average: one full node blocks writes. FreeStorageSpace
    // (MiB) Minimum over the domain's nodes, below (100 - openSearchDiskUsedPercent)% of a node's
    // volume (AWS's recommended alarm is <= 25%).
    const volumeMiB = config.events.opensearch.volumeSizeGiB * 1024;
    const minFreeMiB = Math.floor((volumeMiB * (100 - thresholds.openSearchDiskUsedPercent)) / 100);
    this.facade.monitorCustom({
      alarmFriendlyName: 'SearchStorage',
      humanReadableName: 'Search domain: free storage of the fullest node (MiB)',
      metricGroups: [
        {
          title: 'Free storage, fullest node (MiB)',
          metrics: [
            {
              metric: props.searchDomain.metricFreeStorageSpace({
                statistic: 'Minimum',
                period: FIVE_MINUTES,
                label: 'free storage (MiB)',
              }),
              alarmFriendlyName: 'FreeStorage',
              addAlarm: {
                Critical: {
                  threshold: minFreeMiB,
                  comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
                  evaluationPeriods: 1,
                  datapointsToAlarm: 1,
                  treatMissingDataOverride: cloudwatch.TreatMissingData.BREACHING,
                  alarmDescriptionOverride: `search domain: a node has ${minFreeMiB} MiB or less free (${thresholds.openSearchDiskUsedPercent}% of its ${volumeMiB} MiB used); at the flood stage OpenSearch blocks writes to its indexes`,
                },
              },
            },
          ],
        },
      ],
    });

    // ---- Managed Flink ----
    const app = props.flinkApplicationName;
    const flink = (metricName: string, statistic: string, label: string, period = FIVE_MINUTES) =>
      new cloudwatch.Metric({
        namespace: 'AWS/KinesisAnalytics',
        metricName,
        dimensionsMap: { Application: app },
        statistic,
        period,
        label,
      });
    // numRestarts and numberOfFailedCheckpoints count since the job was submitted: the alarms are on
    // their increase (RATE), not their value, which would stay above 0 after the first failure.
    const increase = (metricName: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `RATE(${metricName})`,
        usingMetrics: { [metricName]: flink(metricName, 'Maximum', metricName) },
        label,
        period: FIVE_MINUTES,
      });
    const checkpointMs = props.flinkCheckpointInterval.toMilliseconds();
    this.facade.monitorCustom({
      alarmFriendlyName: 'Sessionize',
      humanReadableName: `Managed Flink ${app}`,
      metricGroups: [
        {
          title: 'Availability',
          metrics: [
            {
              metric: flink('downtime', 'Average', 'downtime (ms)', Duration.minutes(1)),
              alarmFriendlyName: 'Downtime',
              // A stopped application publishes nothing, and that is an outage too.
              addAlarm: greaterThan(
                0,
                5,
                `${app}: the job has not been running for 5 minutes (failing, restarting or stopped): see the application's log group`,
                cloudwatch.TreatMissingData.BREACHING,
              ),
            },
            {
              metric: increase('numRestarts', 'restarts per second'),
              alarmFriendlyName: 'Restarts',
              addAlarm: greaterThan(
                0,
                1,
                `${app}: the job restarted (numRestarts increased) in the last 5 minutes: see the application's log group`,
              ),
            },
          ],
        },
        {
          title: 'Checkpoints',
          metrics: [
            {
              metric: increase('numberOfFailedCheckpoints', 'failed checkpoints per second'),
              alarmFriendlyName: 'FailedCheckpoints',
              addAlarm: greaterThan(
                0,
                1,
                `${app}: a checkpoint failed in the last 5 minutes; lake files are committed on checkpoints only`,
              ),
            },
            {
              metric: flink('lastCheckpointDuration', 'Maximum', 'last checkpoint duration (ms)'),
              alarmFriendlyName: 'CheckpointDuration',
              addAlarm: greaterThan(
                checkpointMs,
                3,
                `${app}: checkpoints take longer than the checkpoint interval (${checkpointMs} ms) for 15 minutes; lake commits fall behind`,
              ),
            },
          ],
        },
        {
          title: 'Kafka source lag (records)',
          metrics: [
            {
              metric: flink('records_lag_max', 'Maximum', 'records lag'),
              alarmFriendlyName: 'RecordsLag',
              addAlarm: greaterThan(
                thresholds.flinkRecordsLagMax,
                3,
                `${app}: more than ${thresholds.flinkRecordsLagMax} records behind on its Kafka source for 15 minutes`,
              ),
            },
          ],
        },
      ],
    });

    // ---- Alert delivery ----
    this.facade.monitorSnsTopic({
      topic: props.alertTopic,
      alarmFriendlyName: 'AlertTopic',
      humanReadableName: 'Telemetry alerts topic',
      addMessageNotificationsFailedAlarm: {
        Critical: {
          maxNotificationsFailedCount: 0,
          alarmDescriptionOverride: `${prefix}: alerts SNS could not deliver to a subscriber`,
        },
      },
    });
  }
}
