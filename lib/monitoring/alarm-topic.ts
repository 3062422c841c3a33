import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';

export interface OpsAlarmTopicProps {
  readonly config: EnvironmentConfig;
  /** The platform key: the topic is encrypted with it. */
  readonly key: kms.IKey;
}

/**
 * The ops SNS topic every platform alarm goes to, on alarm and back to OK (plus e-mail when
 * `alarmEmail` is set). It lives in the streaming stack, the first stack with the platform key; the
 * alarms themselves are the monitoring stack's (lib/monitoring/platform-monitoring.ts).
 */
export class OpsAlarmTopic extends Construct {
  public readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: OpsAlarmTopicProps) {
    super(scope, id);
    const { config } = props;
    // The construct id stays `AlarmTopic` under the stack's `Alarms`: the topic keeps its logical id
    // (and its confirmed e-mail subscription) from when the cluster alarms lived beside it.
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `${config.platformName} ${config.envName} platform alarms`,
      masterKey: props.key,
      enforceSSL: true,
    });
    if (config.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
  }
}
