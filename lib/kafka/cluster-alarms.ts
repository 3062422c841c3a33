import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import type { IKafkaCluster } from './msk-cluster';

export interface ClusterAlarmsProps {
  readonly config: EnvironmentConfig;
  readonly cluster: IKafkaCluster;
  readonly key: kms.IKey;
}

/**
 * The cluster's alarms, into one encrypted SNS topic (plus e-mail when `alarmEmail` is set):
 * per broker disk use, under-replicated partitions and CPU; cluster-wide offline partitions.
 * Later constructs add their own alarms to {@link alarmTopic}.
 */
export class ClusterAlarms extends Construct {
  public readonly alarmTopic: sns.Topic;
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: ClusterAlarmsProps) {
    super(scope, id);
    const { config, cluster } = props;
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `${config.platformName} ${config.envName} platform alarms`,
      masterKey: props.key,
      enforceSSL: true,
    });
    if (config.alarmEmail)
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
    const action = new actions.SnsAction(this.alarmTopic);
    const clusterDims = { 'Cluster Name': cluster.clusterName };
    const metric = (metricName: string, dims: Record<string, string>, statistic = 'Maximum') =>
      new cloudwatch.Metric({
        namespace: 'AWS/Kafka',
        metricName,
        dimensionsMap: dims,
        statistic,
        period: Duration.minutes(5),
      });
    const add = (alarm: cloudwatch.Alarm) => {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      this.alarms.push(alarm);
    };

    add(
      metric('OfflinePartitionsCount', clusterDims).createAlarm(this, 'OfflinePartitions', {
        alarmDescription: `${cluster.clusterName}: partitions without a leader; producers and consumers of them are stuck`,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    for (let broker = 1; broker <= config.msk.brokerCount; broker++) {
      const dims = { ...clusterDims, 'Broker ID': String(broker) };
      add(
        metric('KafkaDataLogsDiskUsed', dims).createAlarm(this, `Broker${broker}DiskUsed`, {
          alarmDescription: `${cluster.clusterName} broker ${broker}: data disk above ${config.msk.diskUsedAlarmPercent}%; grow storage or cut retention`,
          threshold: config.msk.diskUsedAlarmPercent,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 2,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
      add(
        metric('UnderReplicatedPartitions', dims).createAlarm(this, `Broker${broker}UnderReplicated`, {
          alarmDescription: `${cluster.clusterName} broker ${broker}: under-replicated partitions for 15 minutes`,
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
      const cpu = new cloudwatch.MathExpression({
        expression: 'user + system',
        usingMetrics: {
          user: metric('CpuUser', dims, 'Average'),
          system: metric('CpuSystem', dims, 'Average'),
        },
        period: Duration.minutes(5),
        label: `broker ${broker} CPU %`,
      });
      add(
        cpu.createAlarm(this, `Broker${broker}Cpu`, {
          alarmDescription: `${cluster.clusterName} broker ${broker}: CPU above 60% for 15 minutes (AWS guidance)`,
          threshold: 60,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
  }
}
