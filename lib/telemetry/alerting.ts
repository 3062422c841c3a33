import { Aws } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { ConsumerStateTable } from '../events/consumer-state-table';
import { MskConsumer } from '../events/msk-consumer';
import type { IKafkaCluster } from '../kafka/msk-cluster';
import type { TopicCatalog } from '../topics/topic-catalog';
import { ALERT_SEVERITY_LEVELS } from '../../lambda/shared/contract/alert';
import { ALERT_ATTRIBUTES } from '../../lambda/alerting/message';

export interface TelemetryAlertingProps {
  readonly config: EnvironmentConfig;
  readonly catalog: TopicCatalog;
  readonly cluster: IKafkaCluster;
  /** The IAM listener bootstrap string. */
  readonly bootstrapBrokers: string;
  /** The platform key: the alerts topic, the state table (each used through its service only). */
  readonly key: kms.IKey;
  readonly vpc: ec2.IVpc;
  /** The alerting component's security group (lib/network/components.ts). */
  readonly securityGroup: ec2.ISecurityGroup;
}

/** The filter policy of a subscription receiving `minSeverity` and above. */
export function severityFilterPolicy(
  minSeverity: keyof typeof ALERT_SEVERITY_LEVELS,
): Record<string, sns.SubscriptionFilter> {
  return {
    [ALERT_ATTRIBUTES.severityLevel]: sns.SubscriptionFilter.numericFilter({
      greaterThanOrEqualTo: ALERT_SEVERITY_LEVELS[minSeverity],
    }),
  };
}

/**
 * The alerting box of the telemetry path (docs/telemetry-path.md, "Alerting"): the alerts SNS topic
 * (platform key, TLS only) with the configured e-mail subscriptions, each filtered on
 * `severityLevel`; the consumer's state table (dedupe claims per alertId); and the alerting
 * consumer on `telemetry.alerts` (MskConsumer), dead-lettering to `dlq.alerting`, allowed to
 * publish to this topic only.
 */
export class TelemetryAlerting extends Construct {
  public readonly topic: sns.Topic;
  public readonly table: ConsumerStateTable;
  public readonly consumer: MskConsumer;

  constructor(scope: Construct, id: string, props: TelemetryAlertingProps) {
    super(scope, id);
    const { config, catalog } = props;

    // Publishers to an encrypted topic need the key's data keys; SNS asks for them on the
    // publisher's behalf (the role's statement below). E-mail delivery needs no key permission.
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `${config.platformName} ${config.envName} telemetry alerts`,
      masterKey: props.key,
      enforceSSL: true,
    });
    for (const subscription of config.telemetry.alerting.subscriptions) {
      this.topic.addSubscription(
        new subscriptions.EmailSubscription(subscription.email, {
          filterPolicy: severityFilterPolicy(subscription.minSeverity),
        }),
      );
    }

    this.table = new ConsumerStateTable(this, 'State', { config, key: props.key });
    this.consumer = new MskConsumer(this, 'Consumer', {
      config,
      consumer: 'alerting',
      description: `Publishes ${catalog.name('telemetryAlerts')} to the alerts topic, once per alertId`,
      catalog,
      cluster: props.cluster,
      bootstrapBrokers: props.bootstrapBrokers,
      deadLetterTopic: 'dlqAlerting',
      produces: [],
      table: this.table,
      // Claims: put, read back, renew and mark; a claim is deleted when its alert is dead-lettered.
      tableActions: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      key: props.key,
      vpc: props.vpc,
      securityGroup: props.securityGroup,
      environment: {
        ALERTS_TOPIC: catalog.name('telemetryAlerts'),
        SNS_TOPIC_ARN: this.topic.topicArn,
      },
    });
    const fn = this.consumer.function.fn;
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': `sns.${Aws.REGION}.amazonaws.com`,
            'kms:EncryptionContext:aws:sns:topicArn': this.topic.topicArn,
          },
        },
      }),
    );
  }
}
