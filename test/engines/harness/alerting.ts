/**
 * The alerting consumer on the local engines, for any engine test that wants alerts published: the
 * real handler (lambda/alerting/index.ts, built from its environment) behind the local event-source
 * poller on the catalog's alerts topic (its mapping's consumer group and settings), claims in dynalite,
 * publishing to the SNS stand-in. The caller creates and deletes the catalog topics (the alerts topic
 * and its dead-letter topic); `stop()` stops the rest.
 *
 * The handler reads its environment once per module registry (jest gives each test file its own).
 */
import type { MSKEvent } from '../../../lambda/shared/consumer/msk-event';
import { consumerGroupId } from '../../../lib/events/consumer-groups';
import { topicName } from '../../../lib/topics/topic-specs';
import { bootstrap } from './clients';
import { LocalDynamo } from './dynalite';
import { EventSourcePoller } from './event-source-poller';
import { SnsStandIn } from './sns-stand-in';

export interface LocalAlerting {
  readonly handler: (event: MSKEvent) => Promise<void>;
  readonly poller: EventSourcePoller;
  readonly sns: SnsStandIn;
  /** The alerts topic's ARN in the stand-in. */
  readonly topicArn: string;
  readonly dynamo: LocalDynamo;
  readonly table: string;
  stop(): Promise<void>;
}

export interface LocalAlertingOptions {
  /** @default 'alerting-state-engine-test' */
  readonly table?: string;
  /** The consumer's retry budget. @default 5 */
  readonly retryBudgetSeconds?: number;
  /** Invocations of a failed batch after the first (the mapping's). @default 2 */
  readonly retryAttempts?: number;
  /** @default 300 */
  readonly maximumBatchingWindowMs?: number;
}

/** Starts dynalite, the SNS stand-in, the handler and its poller (joined to its group). */
export async function startLocalAlerting(options: LocalAlertingOptions = {}): Promise<LocalAlerting> {
  const table = options.table ?? 'alerting-state-engine-test';
  const region = 'us-east-1';
  const dynamo = await LocalDynamo.start([{ name: table }]);
  const sns = await SnsStandIn.start({ region });
  const topicArn = sns.createTopic('streaming-local-telemetry-alerts');
  Object.assign(process.env, {
    BOOTSTRAP_BROKERS: bootstrap(),
    KAFKA_AUTH: 'none',
    DEAD_LETTER_TOPIC: topicName('dlqAlerting'),
    RETRY_BUDGET_SECONDS: String(options.retryBudgetSeconds ?? 5),
    CONSUMER_NAME: 'alerting',
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    SNS_ENDPOINT: sns.endpoint,
    AWS_REGION: region,
    ALERTS_TOPIC: topicName('telemetryAlerts'),
    SNS_TOPIC_ARN: topicArn,
    STATE_TABLE: table,
    DEDUPE_HORIZON_SECONDS: String(7 * 86_400),
    CLAIM_LEASE_SECONDS: '60',
    POWERTOOLS_METRICS_NAMESPACE: 'StreamingPlatform',
    POWERTOOLS_LOG_LEVEL: 'WARN',
  });
  const { handler } = await import('../../../lambda/alerting/index');
  const poller = new EventSourcePoller({
    topic: topicName('telemetryAlerts'),
    groupId: consumerGroupId('alerting', 'telemetryAlerts'),
    handler,
    batchSize: 100,
    maximumBatchingWindowMs: options.maximumBatchingWindowMs ?? 300,
    retryAttempts: options.retryAttempts ?? 2,
    onFailureTopic: topicName('dlqAlerting'),
  });
  await poller.start();
  return {
    handler,
    poller,
    sns,
    topicArn,
    dynamo,
    table,
    async stop() {
      await poller.stop();
      await sns.stop();
      await dynamo.stop();
    },
  };
}
