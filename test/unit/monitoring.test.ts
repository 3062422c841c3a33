/**
 * The monitoring stack: one dashboard per environment and every alarm of the platform, each to the
 * ops topic on alarm and back to OK, thresholds from `environments.<env>.monitoring`. Expectations are
 * written here by hand (names, metrics, thresholds, actions), not derived from the code under test.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { ConfigError } from '../../lib/config/errors';
import { loadEnvironments } from '../../lib/config/platform-config';
import {
  cdkJsonContext,
  ENVIRONMENTS,
  synthEnvironment,
  type SynthesizedEnvironment,
} from '../support/synth';
import { withSnowflake } from '../support/warehouse';

type Json = Record<string, any>;

const dev = synthEnvironment('dev');
const prod = synthEnvironment('prod', withSnowflake('prod'));

function alarms(template: Template): Record<string, Json> {
  return Object.fromEntries(
    Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => [
      a.Properties.AlarmName as string,
      a.Properties as Json,
    ]),
  );
}

const opsTopic = (envName: string) => ({
  'Fn::GetStackOutput': {
    StackName: `streaming-${envName}-streaming`,
    Region: { Ref: 'AWS::Region' },
    OutputName: expect.stringMatching(/^PublishOutputRefAlarmsAlarmTopic/) as unknown,
  },
});

/** The alarm names of an environment, by hand: brokers 1..n, the connectors it has. */
function expectedNames(envName: string, brokers: number, snowflake: boolean): string[] {
  const p = `streaming-${envName}`;
  const perBroker = (what: string) =>
    Array.from({ length: brokers }, (_, i) => `${p}-Msk-Broker${i + 1}${what}-Critical`);
  const fn = (name: string, consumer: boolean) => [
    `${p}-${name}-Fault-Count-Critical`,
    `${p}-${name}-Throttled-Count-Critical`,
    `${p}-${name}-Latency-P99-Critical`,
    ...(consumer ? [`${p}-${name}-Offset-Lag-Max-Critical`] : []),
  ];
  return [
    `${p}-Msk-OfflinePartitions-Critical`,
    ...perBroker('DiskUsed'),
    ...perBroker('UnderMinIsr'),
    ...perBroker('UnderReplicated'),
    ...perBroker('Cpu'),
    `${p}-DeadLetters-enrich-Critical`,
    `${p}-DeadLetters-aggregate-Critical`,
    `${p}-DeadLetters-sessionize-Critical`,
    `${p}-DeadLetters-alerting-Critical`,
    `${p}-DeadLetters-snowflake-sink-Critical`,
    ...fn('ingest', false),
    ...fn('enrich', true),
    ...fn('aggregate', true),
    ...fn('alerting', true),
    `${p}-IngestApi-Fault-Count-Critical`,
    `${p}-MqttBridge-ParseErrors-Critical`,
    `${p}-MqttBridge-ActionFailures-Critical`,
    `${p}-MqttBridge-ErrorActionFailures-Critical`,
    `${p}-OrdersCdc-ErroredTasks-Critical`,
    `${p}-OrdersCdc-RunningTasks-Critical`,
    ...(snowflake
      ? [`${p}-SnowflakeSink-ErroredTasks-Critical`, `${p}-SnowflakeSink-RunningTasks-Critical`]
      : []),
    `${p}-ReplicationSlot-SlotLag-Critical`,
    `${p}-ReplicationSlot-TransactionLogs-Critical`,
    `${p}-Search-Cluster-ClusterStatus-Red`,
    `${p}-Search-Cluster-ClusterStatus-Yellow`,
    `${p}-SearchStorage-FreeStorage-Critical`,
    `${p}-Search-Memory-Usage-Critical`,
    `${p}-Sessionize-Downtime-Critical`,
    `${p}-Sessionize-Restarts-Critical`,
    `${p}-Sessionize-FailedCheckpoints-Critical`,
    `${p}-Sessionize-CheckpointDuration-Critical`,
    `${p}-Sessionize-RecordsLag-Critical`,
    `${p}-AlertTopic-Topic-Notifications-Failed-Critical`,
  ].sort();
}

describe.each([
  ['dev', dev, 2, false],
  ['prod', prod, 6, true],
] as const)('%s', (envName, synth: SynthesizedEnvironment, brokers, snowflake) => {
  const all = alarms(synth.monitoring);

  test('every alarm is in the monitoring stack: exactly the expected set', () => {
    expect(Object.keys(all).sort()).toEqual(expectedNames(envName, brokers, snowflake));
    for (const stack of ['network', 'streaming', 'sources', 'events', 'telemetry', 'warehouse'] as const) {
      const template = synth[stack];
      if (template) expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm'))).toEqual([]);
    }
  });

  test('every alarm notifies the ops topic on alarm and on OK, with actions enabled', () => {
    for (const [name, alarm] of Object.entries(all)) {
      expect([name, alarm.ActionsEnabled, alarm.AlarmActions, alarm.OKActions]).toEqual([
        name,
        true,
        [opsTopic(envName)],
        [opsTopic(envName)],
      ]);
    }
  });

  test('one dashboard, named after platform and environment', () => {
    const dashboards = Object.values(synth.monitoring.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards.map((d) => d.Properties.DashboardName)).toEqual([`streaming-${envName}`]);
  });
});

describe('alarm definitions (dev, by hand)', () => {
  const all = alarms(dev.monitoring);
  const shape = (a: Json) => ({
    op: a.ComparisonOperator,
    threshold: a.Threshold,
    periods: a.EvaluationPeriods,
    datapoints: a.DatapointsToAlarm,
    missing: a.TreatMissingData,
  });
  const stat = (namespace: string, metricName: string, dimensions: Json[], stat: string, period = 300) => ({
    Metric: { Dimensions: dimensions, MetricName: metricName, Namespace: namespace },
    Period: period,
    Stat: stat,
  });
  const metricStats = (a: Json) => (a.Metrics as Json[]).filter((m) => m.MetricStat).map((m) => m.MetricStat);
  const expression = (a: Json) => (a.Metrics as Json[]).find((m) => m.Expression)?.Expression;

  test('MSK: offline partitions, disk (from msk.diskUsedAlarmPercent), CPU (monitoring.brokerCpuPercent)', () => {
    const offline = all['streaming-dev-Msk-OfflinePartitions-Critical']!;
    expect(shape(offline)).toEqual({
      op: 'GreaterThanThreshold',
      threshold: 0,
      periods: 1,
      datapoints: 1,
      missing: 'notBreaching',
    });
    expect(metricStats(offline)).toEqual([
      stat(
        'AWS/Kafka',
        'OfflinePartitionsCount',
        [{ Name: 'Cluster Name', Value: 'streaming-dev' }],
        'Maximum',
      ),
    ]);
    const disk = all['streaming-dev-Msk-Broker2DiskUsed-Critical']!;
    expect(shape(disk)).toEqual({
      op: 'GreaterThanThreshold',
      threshold: 80,
      periods: 2,
      datapoints: 2,
      missing: 'notBreaching',
    });
    expect(metricStats(disk)).toEqual([
      stat(
        'AWS/Kafka',
        'KafkaDataLogsDiskUsed',
        [
          { Name: 'Broker ID', Value: '2' },
          { Name: 'Cluster Name', Value: 'streaming-dev' },
        ],
        'Maximum',
      ),
    ]);
    const cpu = all['streaming-dev-Msk-Broker1Cpu-Critical']!;
    expect(shape(cpu)).toEqual({
      op: 'GreaterThanThreshold',
      threshold: 60,
      periods: 3,
      datapoints: 3,
      missing: 'notBreaching',
    });
    expect(expression(cpu)).toBe('user1 + system1');
    expect(metricStats(cpu).map((m: Json) => m.Metric.MetricName)).toEqual(['CpuUser', 'CpuSystem']);
  });

  test('dead-letter topics: any record in on any broker, per dlq topic', () => {
    const dlq = all['streaming-dev-DeadLetters-snowflake-sink-Critical']!;
    // 0.1 B/s, not 0: the decaying rate of a burst would hold "> 0" in alarm for a long time.
    expect(shape(dlq)).toEqual({
      op: 'GreaterThanThreshold',
      threshold: 0.1,
      periods: 1,
      datapoints: 1,
      missing: 'notBreaching',
    });
    expect(expression(dlq)).toBe('FILL(dlq_snowflake_sinkb1, 0) + FILL(dlq_snowflake_sinkb2, 0)');
    expect(metricStats(dlq)).toEqual(
      ['1', '2'].map((broker) =>
        stat(
          'AWS/Kafka',
          'BytesInPerSec',
          [
            { Name: 'Broker ID', Value: broker },
            { Name: 'Cluster Name', Value: 'streaming-dev' },
            { Name: 'Topic', Value: 'dlq.snowflake-sink' },
          ],
          'Maximum',
        ),
      ),
    );
  });

  test('consumers: offset lag (monitoring.maxOffsetLagRecords), p99 at 80% of the timeout, errors', () => {
    const lag = all['streaming-dev-enrich-Offset-Lag-Max-Critical']!;
    expect([lag.ComparisonOperator, lag.Threshold, lag.EvaluationPeriods]).toEqual([
      'GreaterThanThreshold',
      10000,
      3,
    ]);
    expect(metricStats(lag).map((m: Json) => [m.Metric.Namespace, m.Metric.MetricName, m.Stat])).toEqual([
      ['AWS/Lambda', 'OffsetLag', 'Maximum'],
    ]);
    // The ingest function's timeout is 29 s: 80% is 23.2 s.
    expect(all['streaming-dev-ingest-Latency-P99-Critical']!.Threshold).toBe(23200);
    const errors = all['streaming-dev-aggregate-Fault-Count-Critical']!;
    expect([errors.ComparisonOperator, errors.Threshold, errors.EvaluationPeriods]).toEqual([
      'GreaterThanThreshold',
      0,
      1,
    ]);
  });

  test('MSK Connect: errored tasks, and fewer running tasks than the connector runs (missing data breaches)', () => {
    const running = all['streaming-dev-OrdersCdc-RunningTasks-Critical']!;
    expect(shape(running)).toEqual({
      op: 'LessThanThreshold',
      threshold: 1,
      periods: 3,
      datapoints: 3,
      missing: 'breaching',
    });
    expect(metricStats(running)).toEqual([
      stat(
        'AWS/KafkaConnect',
        'RunningTaskCount',
        [{ Name: 'ConnectorName', Value: 'streaming-dev-orders-cdc' }],
        'Minimum',
      ),
    ]);
    expect(metricStats(all['streaming-dev-OrdersCdc-ErroredTasks-Critical']!)).toEqual([
      stat(
        'AWS/KafkaConnect',
        'ErroredTaskCount',
        [{ Name: 'ConnectorName', Value: 'streaming-dev-orders-cdc' }],
        'Maximum',
      ),
    ]);
  });

  test('the replication slot alarms fire below max_slot_wal_keep_size (4096 MB in dev), which the parameter group sets', () => {
    // CloudWatch gets these in bytes: 1024 MiB and 2048 MiB.
    expect(all['streaming-dev-ReplicationSlot-SlotLag-Critical']!.Threshold).toBe(1073741824);
    expect(all['streaming-dev-ReplicationSlot-TransactionLogs-Critical']!.Threshold).toBe(2147483648);
    expect(
      metricStats(all['streaming-dev-ReplicationSlot-SlotLag-Critical']!).map(
        (m: Json) => m.Metric.MetricName,
      ),
    ).toEqual(['OldestReplicationSlotLag']);
    const groups = Object.values(dev.sources.findResources('AWS::RDS::DBParameterGroup'));
    expect(groups.map((g) => g.Properties.Parameters)).toEqual([
      { 'rds.logical_replication': '1', 'rds.force_ssl': '1', max_slot_wal_keep_size: '4096' },
    ]);
  });

  test('Flink: downtime (a stopped job breaches), restarts and failed checkpoints by their increase, records lag', () => {
    const downtime = all['streaming-dev-Sessionize-Downtime-Critical']!;
    expect(shape(downtime)).toEqual({
      op: 'GreaterThanThreshold',
      threshold: 0,
      periods: 5,
      datapoints: 5,
      missing: 'breaching',
    });
    expect(metricStats(downtime)).toEqual([
      stat(
        'AWS/KinesisAnalytics',
        'downtime',
        [{ Name: 'Application', Value: 'streaming-dev-sessionize' }],
        'Average',
        60,
      ),
    ]);
    expect(expression(all['streaming-dev-Sessionize-Restarts-Critical']!)).toBe('RATE(numRestarts)');
    expect(expression(all['streaming-dev-Sessionize-FailedCheckpoints-Critical']!)).toBe(
      'RATE(numberOfFailedCheckpoints)',
    );
    // telemetry.flink.checkpointIntervalSeconds 60 in ms
    expect(all['streaming-dev-Sessionize-CheckpointDuration-Critical']!.Threshold).toBe(60000);
    const lag = all['streaming-dev-Sessionize-RecordsLag-Critical']!;
    expect([lag.Threshold, metricStats(lag)[0].Metric.MetricName]).toEqual([10000, 'records_lag_max']);
  });

  test('OpenSearch: red at once, yellow for 15 minutes, disk and JVM pressure from config', () => {
    expect(all['streaming-dev-Search-Cluster-ClusterStatus-Red']!.EvaluationPeriods).toBe(1);
    expect(all['streaming-dev-Search-Cluster-ClusterStatus-Yellow']!.EvaluationPeriods).toBe(3);
    // The fullest node: FreeStorageSpace (MiB) Minimum at or below 20% of a 10 GiB volume.
    const free = all['streaming-dev-SearchStorage-FreeStorage-Critical']!;
    expect(shape(free)).toEqual({
      op: 'LessThanOrEqualToThreshold',
      threshold: 2048,
      periods: 1,
      datapoints: 1,
      missing: 'breaching',
    });
    expect(metricStats(free).map((m: Json) => [m.Metric.Namespace, m.Metric.MetricName, m.Stat])).toEqual([
      ['AWS/ES', 'FreeStorageSpace', 'Minimum'],
    ]);
    expect(metricStats(free)[0].Metric.Dimensions.map((d: Json) => d.Name)).toEqual([
      'ClientId',
      'DomainName',
    ]);
    expect(all['streaming-dev-Search-Memory-Usage-Critical']!.Threshold).toBe(85);
  });

  test('MQTT bridge: parse errors by rule; action and error-action failures over every action type', () => {
    const parse = all['streaming-dev-MqttBridge-ParseErrors-Critical']!;
    expect(shape(parse)).toEqual({
      op: 'GreaterThanThreshold',
      threshold: 0,
      periods: 1,
      datapoints: 1,
      missing: 'notBreaching',
    });
    expect(metricStats(parse)).toEqual([
      stat('AWS/IoT', 'ParseError', [{ Name: 'RuleName', Value: 'streaming_dev_telemetry_raw' }], 'Sum'),
    ]);
    for (const [name, metric] of [
      ['ActionFailures', 'Failure'],
      ['ErrorActionFailures', 'ErrorActionFailure'],
    ] as const) {
      const alarm = all[`streaming-dev-MqttBridge-${name}-Critical`]!;
      expect(shape(alarm)).toEqual({
        op: 'GreaterThanThreshold',
        threshold: 0,
        periods: 1,
        datapoints: 1,
        missing: 'notBreaching',
      });
      expect(alarm.Metrics).toEqual([
        {
          Expression: `SELECT SUM(${metric}) FROM SCHEMA("AWS/IoT", ActionType, RuleName) WHERE RuleName = 'streaming_dev_telemetry_raw'`,
          Id: 'expr_1',
          Label: expect.any(String),
          Period: 300,
          ReturnData: true,
        },
      ]);
    }
  });

  test('Flink restarts: RATE over the 5-minute Maximum of numRestarts, by application', () => {
    const restarts = all['streaming-dev-Sessionize-Restarts-Critical']!;
    expect(shape(restarts)).toEqual({
      op: 'GreaterThanThreshold',
      threshold: 0,
      periods: 1,
      datapoints: 1,
      missing: 'notBreaching',
    });
    expect(metricStats(restarts)).toEqual([
      stat(
        'AWS/KinesisAnalytics',
        'numRestarts',
        [{ Name: 'Application', Value: 'streaming-dev-sessionize' }],
        'Maximum',
      ),
    ]);
  });

  test('an environment whose database is external has no replication-slot or database alarms', () => {
    const external = synthEnvironment('dev', {
      environments: {
        ...(cdkJsonContext().environments as Json),
        dev: {
          ...((cdkJsonContext().environments as Json).dev as Json),
          cdc: {
            ...((cdkJsonContext().environments as Json).dev as Json).cdc,
            database: {
              host: 'orders.example.internal',
              port: 5432,
              name: 'orders',
              secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-cdc-AbC123',
            },
          },
        },
      },
    });
    expect(Object.keys(alarms(external.monitoring)).filter((n) => n.includes('ReplicationSlot'))).toEqual([]);
  });
});

describe('thresholds are validated at synth, naming the key and the range', () => {
  function problems(change: (env: Json) => void, envName = 'dev'): string {
    const context = structuredClone(cdkJsonContext());
    change((context.environments as Record<string, Json>)[envName]!);
    try {
      loadEnvironments({ ...context, env: envName });
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
    return '';
  }

  test.each([
    [
      (e: Json) => (e.monitoring.brokerCpuPercent = 120),
      'environments.dev.monitoring.brokerCpuPercent: must be 1..99 %',
    ],
    [
      (e: Json) => (e.monitoring.replicationSlotLagMiB = 4096),
      'environments.dev.monitoring.replicationSlotLagMiB: must be 1..4095 MiB (below cdc.rds.maxSlotWalKeepSizeMiB 4096, so the alarm fires before the slot is invalidated; got 4096)',
    ],
    [
      (e: Json) => (e.cdc.rds.maxSlotWalKeepSizeMiB = 20480),
      'environments.dev.cdc.rds.maxSlotWalKeepSizeMiB: must be 1024..10240 MiB (half of allocatedStorageGiB 20; got 20480)',
    ],
    [(e: Json) => delete e.monitoring.maxOffsetLagRecords, 'environments.dev.monitoring.maxOffsetLagRecords'],
  ])('%#', (change, expected) => {
    expect(problems(change)).toContain(expected);
  });

  test('every environment of cdk.json passes', () => {
    for (const envName of ENVIRONMENTS) expect(problems(() => undefined, envName)).toBe('');
  });
});
