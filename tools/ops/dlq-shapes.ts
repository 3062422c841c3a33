/**
 * The three shapes of a dead-letter record (CONTRACT.md, "Dead-letter records") and what replaying
 * one sends back. A record's shape is told by its headers, then its value:
 *
 *   1. `dlq` — our consumers' records (lambda/shared/consumer/runtime.ts `deadLetterMessage`, the
 *      sessionize job's SQL): value = the original bytes, headers `dlq.*` with `dlq.source.topic`,
 *      `dlq.source.partition`, `dlq.source.offset`;
 *   2. `lambda-on-failure` — a Lambda event source mapping's Kafka on-failure destination: the value
 *      is Lambda's JSON with the failed record(s) inside (lambda/shared/consumer/on-failure.ts,
 *      `recordsToReplay`), no headers of its own;
 *   3. `connect` — Kafka Connect's dead-letter queue with context headers: the original record with
 *      `__connect.errors.topic`, `.partition`, `.offset`, `.connector.name`, `.task.id`, `.stage`,
 *      `.class.name`, `.exception.class.name`, `.exception.message`, `.exception.stacktrace` (the
 *      names of Kafka Connect 3.7's DeadLetterQueueReporter).
 *
 * A replayed record is the original key, the original value bytes and the original headers minus
 * every dead-letter header (`dlq.*`, `__connect.errors.*`).
 */
import type { IHeaders } from 'kafkajs';
import { recordsToReplay, type ReplayRecord } from '../../lambda/shared/consumer/on-failure';
import { DLQ_HEADERS } from '../../lambda/shared/consumer/runtime';

/** The prefix of Kafka Connect's dead-letter context headers (DeadLetterQueueReporter.HEADER_PREFIX). */
export const CONNECT_ERRORS_PREFIX = '__connect.errors.';
export const CONNECT_ERROR_HEADERS = {
  topic: `${CONNECT_ERRORS_PREFIX}topic`,
  partition: `${CONNECT_ERRORS_PREFIX}partition`,
  offset: `${CONNECT_ERRORS_PREFIX}offset`,
  connector: `${CONNECT_ERRORS_PREFIX}connector.name`,
  taskId: `${CONNECT_ERRORS_PREFIX}task.id`,
  stage: `${CONNECT_ERRORS_PREFIX}stage`,
  className: `${CONNECT_ERRORS_PREFIX}class.name`,
  exceptionClass: `${CONNECT_ERRORS_PREFIX}exception.class.name`,
  exceptionMessage: `${CONNECT_ERRORS_PREFIX}exception.message`,
  stacktrace: `${CONNECT_ERRORS_PREFIX}exception.stacktrace`,
} as const;

/** The prefix of our consumers' dead-letter headers. */
export const DLQ_PREFIX = 'dlq.';

export type DeadLetterShape = 'dlq' | 'lambda-on-failure' | 'connect';

/** One header, in record order; repeated names appear once per value. */
export interface Header {
  readonly name: string;
  readonly value: Buffer;
}

/** A record read from a dead-letter topic. */
export interface DeadLetterRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly Header[];
}

/** What to send for one dead-letter record. */
export interface ReplayTarget {
  readonly topic: string;
  /** The partition it came from, when known. */
  readonly sourcePartition?: number;
  readonly sourceOffset?: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly Header[];
}

export type ReplayPlan =
  | {
      readonly kind: 'replay';
      readonly shape: DeadLetterShape;
      /** One record, or for the on-failure shape every record its payload holds. */
      readonly records: readonly ReplayTarget[];
      /** `dlq.reason`, or Connect's exception class, or Lambda's condition: for the report. */
      readonly reason?: string;
    }
  | {
      /** Not one of the three shapes, or a shape's required parts are missing: nothing is sent. */
      readonly kind: 'unrecognised';
      readonly detail: string;
    };

/** kafkajs headers (repeated names as arrays) as a list; a header without value becomes empty bytes. */
export function headerList(headers: IHeaders | undefined): Header[] {
  const out: Header[] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) {
      out.push({ name, value: v === undefined || v === null ? Buffer.alloc(0) : Buffer.from(v) });
    }
  }
  return out;
}

/** A header list as kafkajs sends it (repeated names kept as arrays, in order). */
export function kafkajsHeaders(headers: readonly Header[]): IHeaders {
  const out: Record<string, Buffer | Buffer[]> = {};
  for (const { name, value } of headers) {
    const existing = out[name];
    out[name] =
      existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return out;
}

/** Whether a header is one a dead-letter writer added (and a replay leaves out). */
export function isDeadLetterHeader(name: string): boolean {
  return name.startsWith(DLQ_PREFIX) || name.startsWith(CONNECT_ERRORS_PREFIX);
}

function first(headers: readonly Header[], name: string): string | undefined {
  return headers.find((h) => h.name === name)?.value.toString('utf8');
}

function partitionOf(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}

function offsetOf(text: string | undefined): string | undefined {
  return text !== undefined && /^\d{1,19}$/.test(text) ? text : undefined;
}

function originalHeaders(headers: readonly Header[]): Header[] {
  return headers.filter((h) => !isDeadLetterHeader(h.name));
}

/** Tells the record's shape (headers first, then the value) and what replaying it sends. */
export function planReplay(record: DeadLetterRecord): ReplayPlan {
  const dlqTopic = first(record.headers, DLQ_HEADERS.topic);
  const connectTopic = first(record.headers, CONNECT_ERROR_HEADERS.topic);
  if (dlqTopic !== undefined && connectTopic !== undefined)
    return {
      kind: 'unrecognised',
      detail: `carries both ${DLQ_HEADERS.topic} and ${CONNECT_ERROR_HEADERS.topic}: which writer it came from is ambiguous`,
    };
  if (dlqTopic !== undefined || connectTopic !== undefined) {
    const shape: DeadLetterShape = dlqTopic !== undefined ? 'dlq' : 'connect';
    const names =
      shape === 'dlq'
        ? { partition: DLQ_HEADERS.partition, offset: DLQ_HEADERS.offset }
        : { partition: CONNECT_ERROR_HEADERS.partition, offset: CONNECT_ERROR_HEADERS.offset };
    const topic = (dlqTopic ?? connectTopic)!;
    if (topic.length === 0) return { kind: 'unrecognised', detail: `an empty source topic header` };
    const sourcePartition = partitionOf(first(record.headers, names.partition));
    const sourceOffset = offsetOf(first(record.headers, names.offset));
    const reason =
      shape === 'dlq'
        ? first(record.headers, DLQ_HEADERS.reason)
        : first(record.headers, CONNECT_ERROR_HEADERS.exceptionClass);
    return {
      kind: 'replay',
      shape,
      ...(reason !== undefined ? { reason } : {}),
      records: [
        {
          topic,
          ...(sourcePartition !== undefined ? { sourcePartition } : {}),
          ...(sourceOffset !== undefined ? { sourceOffset } : {}),
          key: record.key,
          value: record.value,
          headers: originalHeaders(record.headers),
        },
      ],
    };
  }
  if (record.value === null)
    return { kind: 'unrecognised', detail: 'no dead-letter headers and no value (a tombstone)' };
  let replayed: ReplayRecord[];
  let condition: string | undefined;
  try {
    replayed = recordsToReplay(record.value);
    const parsed = JSON.parse(record.value.toString('utf8')) as { requestContext?: { condition?: unknown } };
    condition =
      typeof parsed.requestContext?.condition === 'string' ? parsed.requestContext.condition : undefined;
  } catch {
    return {
      kind: 'unrecognised',
      detail: `no ${DLQ_HEADERS.topic} or ${CONNECT_ERROR_HEADERS.topic} header and the value is not Lambda's on-failure JSON`,
    };
  }
  if (replayed.length === 0)
    return { kind: 'unrecognised', detail: "Lambda's on-failure JSON without records in its payload" };
  return {
    kind: 'replay',
    shape: 'lambda-on-failure',
    ...(condition !== undefined ? { reason: condition } : {}),
    records: replayed.map((r) => ({
      topic: r.topic,
      sourcePartition: r.partition,
      sourceOffset: String(r.offset),
      key: r.key,
      value: r.value,
      headers: originalHeaders(r.headers),
    })),
  };
}
