/**
 * The event a Lambda event source mapping on MSK (or self-managed Kafka) invokes a function with,
 * as https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html documents it. Unlike
 * `@types/aws-lambda`, a key may be absent and a value may be null (a tombstone).
 */
import type { IHeaders } from 'kafkajs';

/** One header: its name mapped to the value's bytes. A record's headers are a list of these. */
export type MSKRecordHeader = Record<string, number[]>;

export interface MSKRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Epoch milliseconds. */
  readonly timestamp: number;
  readonly timestampType: 'CREATE_TIME' | 'LOG_APPEND_TIME';
  /** Base64, absent or null when the record has no key. */
  readonly key?: string | null;
  /** Base64, null for a tombstone. */
  readonly value: string | null;
  readonly headers: readonly MSKRecordHeader[];
}

export interface MSKEvent {
  readonly eventSource: 'aws:kafka' | 'SelfManagedKafka';
  /** The cluster ARN (MSK). */
  readonly eventSourceArn?: string;
  readonly bootstrapServers: string;
  /** Records by `<topic>-<partition>`, each list in offset order. */
  readonly records: Readonly<Record<string, readonly MSKRecord[]>>;
}

/** The `records` key of a topic-partition. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** kafkajs headers (repeated names as arrays) in the event's shape, keeping repeated names in order. */
export function toEventHeaders(headers: IHeaders | undefined): MSKRecordHeader[] {
  const out: MSKRecordHeader[] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      out.push({ [name]: [...(typeof v === 'string' ? Buffer.from(v) : v)] });
    }
  }
  return out;
}

/** The event's headers as name/bytes pairs, in order. */
export function fromEventHeaders(
  headers: readonly MSKRecordHeader[] | null | undefined,
): { name: string; value: Buffer }[] {
  return (headers ?? []).flatMap((h) =>
    Object.entries(h).map(([name, bytes]) => ({ name, value: Buffer.from(bytes) })),
  );
}
