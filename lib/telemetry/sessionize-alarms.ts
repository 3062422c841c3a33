import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';

export interface SessionizeAlarmsProps {
  readonly config: EnvironmentConfig;
  /** The Managed Flink application's name: the metrics' `Application` dimension. */
  readonly applicationName: string;
  /** The platform alarm topic (the streaming stack's). */
  readonly alarmTopic: sns.ITopic;
}

/**
 * The sessionize job's alarms (docs/telemetry-path.md, "Alarms"), on the metrics Managed Service for
 * Apache Flink publishes in namespace `AWS/KinesisAnalytics` with dimension `Application` (the
 * application level; the metrics level is `APPLICATION` or finer in every environment). Each goes to
 * the platform alarm topic, on alarm and back to OK.
 *
 * - `downtime` (ms the job has been failing or restarting; 0 while it runs) above 0 for five
 *   minutes in a row. A stopped application publishes nothing, and that is an outage too: missing
 *   data breaches. `downtime` is deprecated on Flink 2.2 (not removed): the state-specific
 *   replacements are the move when it goes.
 * - Restarts: on Flink 2.2 `fullRestarts` is removed and `numRestarts` is the metric. It is a gauge
 *   of the restarts since the job was submitted, not a count per period: a Sum or Maximum above 0
 *   stays in alarm forever after the first restart, so the alarm is on its increase, `RATE` of the
 *   5-minute Maximum above 0 (a new submission, after an update, starts it at 0 again: a fall, no
 *   alarm).
 * - `numberOfFailedCheckpoints`: likewise a count since the job started, so `RATE` above 0, as AWS
 *   recommends: any failed checkpoint in 5 minutes. The lake's files are committed on checkpoints.
 * - `lastCheckpointDuration` (ms) above the checkpoint interval for 15 minutes: checkpoints that take
 *   longer than the interval delay the next one, so lake commits (and the snapshot an update starts
 *   from) fall behind; a single slow checkpoint is not an incident.
 */
export class SessionizeAlarms extends Construct {
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: SessionizeAlarmsProps) {
    super(scope, id);
    const { config, applicationName } = props;
    const period = Duration.minutes(5);
    const metric = (metricName: string, statistic: string, metricPeriod = period) =>
      new cloudwatch.Metric({
        namespace: 'AWS/KinesisAnalytics',
        metricName,
        dimensionsMap: { Application: applicationName },
        statistic,
        period: metricPeriod,
      });
    const increase = (metricName: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: 'RATE(m)',
        usingMetrics: { m: metric(metricName, 'Maximum') },
        label,
        period,
      });
    const checkpointIntervalMs = config.telemetry.flink.checkpointIntervalSeconds * 1000;

    this.alarms.push(
      metric('downtime', 'Average', Duration.minutes(1)).createAlarm(this, 'Downtime', {
        alarmDescription: `${applicationName}: the job has not been running for 5 minutes (failing, restarting or stopped): see the application's log group`,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      increase('numRestarts', `${applicationName} restarts per second`).createAlarm(this, 'Restarts', {
        alarmDescription: `${applicationName}: the job restarted (numRestarts increased) in the last 5 minutes: see the application's log group`,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      increase('numberOfFailedCheckpoints', `${applicationName} failed checkpoints per second`).createAlarm(
        this,
        'FailedCheckpoints',
        {
          alarmDescription: `${applicationName}: a checkpoint failed in the last 5 minutes; lake files are committed on checkpoints only`,
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        },
      ),
      metric('lastCheckpointDuration', 'Maximum').createAlarm(this, 'CheckpointDuration', {
        alarmDescription: `${applicationName}: checkpoints take longer than the checkpoint interval (${checkpointIntervalMs} ms) for 15 minutes; lake commits fall behind`,
        threshold: checkpointIntervalMs,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    const action = new actions.SnsAction(props.alarmTopic);
    for (const alarm of this.alarms) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
}
