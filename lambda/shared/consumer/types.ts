/**
 * The consumer runtime's contract with the platform's MSK consumers (enrich, aggregate, and later
 * alerting): what a consumer declares and what it receives. The runtime (./runtime.ts) decodes the
 * MSK event, dead-letters what cannot be decoded, runs the partitions and retries transient
 * failures; the consumer only applies records.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';

/**
 * Why a record was dead-lettered: the `dlq.reason` header, and the `reason` dimension of the
 * runtime's `RecordsDeadLettered` metric. (The dead-letter alarms watch the topics themselves,
 * whoever writes there: lib/monitoring/platform-monitoring.ts.)
 */
export const DEAD_LETTER_REASONS = [
  'invalid_json',
  'schema_violation',
  'too_large',
  'processing_error',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** The CloudWatch namespace of the platform's Powertools metrics (set as POWERTOOLS_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = 'StreamingPlatform';

/** One source topic of a consumer. */
export interface SourceSpec<T> {
  /** The value schema (the contract's zod schema). */
  readonly schema: StandardSchemaV1<unknown, T>;
  /** Values larger than this many bytes are dead-lettered as `too_large` without being parsed. */
  readonly maxValueBytes: number;
  /** Whether a null value (a tombstone) is passed on; otherwise it is dead-lettered. */
  readonly tombstones: boolean;
}

/** A decoded, valid record, in its partition's offset order. */
export interface SourceRecord<T> {
  readonly topic: string;
  readonly partition: number;
  /** The offset (Kafka offsets fit a double exactly up to 2^53). */
  readonly offset: number;
  /** Epoch milliseconds. */
  readonly timestamp: number;
  /** The key as UTF-8, or null. */
  readonly key: string | null;
  /** The validated value, or null for a tombstone (only when the source allows them). */
  readonly value: T | null;
  readonly headers: Readonly<Record<string, string>>;
}

/** The position of a record, as dead-letter headers and dedupe claims record it. */
export interface RecordPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** What a consumer may do while it applies one partition's records. */
export interface PartitionContext {
  /** Dead-letters a valid record the consumer refuses (reason `processing_error`). */
  deadLetter(record: SourceRecord<unknown>, detail: string): Promise<void>;
  /** Produces records with the platform's idempotent producer (acks all). */
  produce(
    topic: string,
    messages: readonly { key: string; value: string; headers?: Record<string, string> }[],
  ): Promise<void>;
  /** Adds to a metric (Powertools Metrics, unit Count). */
  count(metric: string, value?: number): void;
  /** The invocation's clock (epoch ms); tests inject one. */
  now(): number;
  /**
   * The lowest and highest offsets of the partition's records in this invocation, the dead-lettered
   * ones included: the partition batch's range.
   */
  readonly range: { readonly first: number; readonly last: number };
}

/**
 * A consumer: its sources by topic name, and how it applies the valid records of one
 * topic-partition. `apply` must be idempotent (it is called again for the same records when the
 * batch is retried). It throws to signal a transient failure (the runtime backs off and calls it
 * again with the same records); it must not have applied any record after the one that failed.
 */
export interface ConsumerDefinition {
  /** `enrich`, `aggregate`, ...: the `dlq.consumer` header and the metrics dimension. */
  readonly name: string;
  readonly sources: Readonly<Record<string, SourceSpec<unknown>>>;
  /** The consumer's dead-letter topic (from the catalog). */
  readonly deadLetterTopic: string;
  apply(records: readonly SourceRecord<unknown>[], context: PartitionContext): Promise<void>;
}
