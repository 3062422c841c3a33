/**
 * The alerting consumer (docs/telemetry-path.md, "Alerting"): telemetry.alerts -> one SNS message per
 * alertId. A partition's alerts are deduplicated with the shared dedupe claims (item
 * `pk=event#<alertId>, sk=alerting`), published, and each claim is marked applied as soon as its
 * alert is published.
 *
 * The shared claims let a redelivery of the SAME record proceed even when its claim is applied (the
 * events path's effects are guarded by their state, lambda/shared/consumer/dedupe.ts). A publish has
 * no such guard, so the claims of the batch are read first (strongly consistent), and an alert whose
 * claim is applied, wherever it was seen, is a duplicate.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { alertV1, type Alert } from '../shared/contract/alert';
import { forEachLimited } from '../shared/consumer/concurrency';
import { claimEvents, claimKey, markApplied, positionKey } from '../shared/consumer/dedupe';
import type { ConsumerDefinition, PartitionContext, SourceRecord } from '../shared/consumer/types';
import { tracer } from '../shared/powertools';
import { alertMessage, MAX_SNS_MESSAGE_BYTES, messageBytes, type AlertMessage } from './message';

export const CONSUMER_NAME = 'alerting';

/**
 * The largest telemetry.alerts value accepted: the known fields take under 300 bytes and `details`
 * a few hundred; 64 KiB leaves room for unknown fields while the message rendered from it (the body
 * holds the alert twice, as text and as JSON) stays well under SNS's 256 KiB.
 */
export const ALERTS_MAX_VALUE_BYTES = 64 * 1024;

/** Alerts of one partition published (and DynamoDB reads) at once. */
export const PUBLISH_CONCURRENCY = 8;

/** The consumer's own metrics (Powertools Metrics, unit Count, dimension `consumer`). */
export const ALERTING_METRICS = {
  published: 'AlertsPublished',
  duplicate: 'AlertsDuplicate',
  /** Alerts SNS refused for good (dead-lettered, `processing_error`). */
  refused: 'AlertsRefused',
  /** Claims taken over by another copy while this one published (that copy was published too). */
  claimsLost: 'ClaimsLost',
} as const;

/**
 * SNS errors that the same request would get again: the message itself is refused. Everything else
 * (throttling, 5xx, KMS throttling or a disabled key, authorization, a missing topic, network errors)
 * is transient for the consumer: it retries, and beyond the outage bound the batch goes to the
 * mapping's on-failure destination, from where it can be replayed once the cause is fixed.
 */
export const PERMANENT_SNS_ERRORS: readonly string[] = [
  'InvalidParameterException',
  'InvalidParameterValueException',
  'ValidationException',
];

/** A publish that SNS (or the size check before it) refuses for good: dead-letter the alert. */
export class PermanentPublishError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentPublishError';
  }
}

/** Publishes one alert's message; throws {@link PermanentPublishError} when retrying cannot help. */
export type AlertPublisher = (message: AlertMessage) => Promise<void>;

/** The publisher of an SNS topic (one Publish per alert). */
export function snsPublisher(client: Pick<SNSClient, 'send'>, topicArn: string): AlertPublisher {
  return async (message) => {
    const bytes = messageBytes(message);
    if (bytes > MAX_SNS_MESSAGE_BYTES) {
      throw new PermanentPublishError(
        `the SNS message would be ${bytes} bytes, more than SNS's ${MAX_SNS_MESSAGE_BYTES}`,
      );
    }
    try {
      await client.send(
        new PublishCommand({
          TopicArn: topicArn,
          Subject: message.subject,
          Message: message.body,
          MessageAttributes: message.attributes,
        }),
      );
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      if (PERMANENT_SNS_ERRORS.includes(name)) {
        throw new PermanentPublishError(
          `SNS refused the message (${name}): ${(err as Error).message}`.slice(0, 1_000),
          { cause: err },
        );
      }
      throw err;
    }
  };
}

/**
 * The consumer's SNS client. One attempt per call: the consumer runtime retries a failing partition
 * with its own backoff, bounded by the outage bound. Timeouts keep a hanging connection from using
 * up the invocation. `SNS_ENDPOINT` points it at a local stand-in (with the local credentials the
 * stand-in verifies signatures with).
 */
export function snsClient(env: NodeJS.ProcessEnv = process.env): SNSClient {
  const common = {
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 },
  };
  const endpoint = env.SNS_ENDPOINT;
  if (endpoint) {
    return new SNSClient({
      ...common,
      endpoint,
      region: env.AWS_REGION ?? 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }
  return tracer.captureAWSv3Client(new SNSClient(common));
}

export interface AlertingOptions {
  /** telemetry.alerts */
  readonly alertsTopic: string;
  /** dlq.alerting */
  readonly deadLetterTopic: string;
  /** The alerting state table (dedupe claims). */
  readonly table: string;
  readonly dynamo: DynamoDBClient | DynamoDBDocumentClient;
  readonly publish: AlertPublisher;
  /** How long a published alertId is remembered (`telemetry.alerting.dedupeHorizonDays`). */
  readonly dedupeHorizonSeconds: number;
  /** After how long a claim never marked published may be taken over (the function timeout). */
  readonly claimLeaseSeconds: number;
  /** Epoch ms; the invocation's clock when not given. */
  readonly clock?: () => number;
}

interface ClaimItem {
  readonly applied?: boolean;
  readonly expiresAt?: number;
}

export function createAlertingConsumer(options: AlertingOptions): ConsumerDefinition {
  const doc =
    options.dynamo instanceof DynamoDBDocumentClient
      ? options.dynamo
      : DynamoDBDocumentClient.from(options.dynamo);
  const now = (context: PartitionContext): number => (options.clock ? options.clock() : context.now());

  /** The alertIds among these whose claim is applied (published) and within the horizon. */
  async function alreadyPublished(alertIds: readonly string[], at: number): Promise<Set<string>> {
    const nowSeconds = Math.floor(at / 1000);
    const published = new Set<string>();
    await forEachLimited([...new Set(alertIds)], PUBLISH_CONCURRENCY, async (alertId) => {
      const { Item } = await doc.send(
        new GetCommand({
          TableName: options.table,
          Key: claimKey(alertId, CONSUMER_NAME),
          ConsistentRead: true,
        }),
      );
      const item = Item as ClaimItem | undefined;
      if (item?.applied === true && (item.expiresAt ?? 0) >= nowSeconds) published.add(alertId);
    });
    return published;
  }

  /**
   * Gives up this record's claim (only if it is still this record's and not applied), so that a
   * later copy, a replay from the dead-letter topic for instance, is tried again.
   */
  async function releaseClaim(alertId: string, record: SourceRecord<unknown>): Promise<void> {
    try {
      await doc.send(
        new DeleteCommand({
          TableName: options.table,
          Key: claimKey(alertId, CONSUMER_NAME),
          ConditionExpression:
            '#topic = :topic AND #partition = :partition AND #offset = :offset AND #applied = :false',
          ExpressionAttributeNames: {
            '#topic': 'topic',
            '#partition': 'partition',
            '#offset': 'offset',
            '#applied': 'applied',
          },
          ExpressionAttributeValues: {
            ':topic': record.topic,
            ':partition': record.partition,
            ':offset': record.offset,
            ':false': false,
          },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  async function apply(records: readonly SourceRecord<unknown>[], context: PartitionContext): Promise<void> {
    const alerts = (records as readonly SourceRecord<Alert>[]).map((record) => ({
      record,
      alert: record.value!,
      eventId: record.value!.alertId,
      position: record,
    }));
    const at = now(context);
    const published = await alreadyPublished(
      alerts.map((a) => a.eventId),
      at,
    );
    const candidates = alerts.filter((a) => !published.has(a.eventId));
    // Throws ClaimInFlightError (transient: the partition retries) while another copy is being published.
    const decisions = await claimEvents(
      doc,
      {
        table: options.table,
        consumer: CONSUMER_NAME,
        horizonSeconds: options.dedupeHorizonSeconds,
        leaseSeconds: options.claimLeaseSeconds,
        now: at,
      },
      candidates,
    );
    const fresh = candidates.filter((a) => decisions.get(positionKey(a.position)) === 'proceed');
    context.count(ALERTING_METRICS.duplicate, alerts.length - fresh.length);

    let publishedNow = 0;
    try {
      await forEachLimited(fresh, PUBLISH_CONCURRENCY, async (a) => {
        try {
          await options.publish(alertMessage(a.alert));
        } catch (err) {
          if (!(err instanceof PermanentPublishError)) throw err;
          await context.deadLetter(a.record, err.message);
          await releaseClaim(a.eventId, a.record);
          context.count(ALERTING_METRICS.refused);
          return;
        }
        publishedNow++;
        // Marked at once: a later failure in this partition must not publish this alert again.
        const lost = await markApplied(doc, { table: options.table, consumer: CONSUMER_NAME }, [a]);
        context.count(ALERTING_METRICS.claimsLost, lost.length);
      });
    } finally {
      context.count(ALERTING_METRICS.published, publishedNow);
    }
  }

  return {
    name: CONSUMER_NAME,
    deadLetterTopic: options.deadLetterTopic,
    sources: {
      [options.alertsTopic]: { schema: alertV1, maxValueBytes: ALERTS_MAX_VALUE_BYTES, tombstones: false },
    },
    apply,
  };
}
