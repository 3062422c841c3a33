/**
 * The Kafka on-failure destination of a Lambda event source mapping: what Lambda writes to the
 * destination topic for a batch that kept failing, and what a replay sends back to the source.
 *
 * Shape from https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure-destination.html
 * ("Record format for a Kafka destination"): one message per failed record, keyed by that record's
 * key (no key: the producer's default partitioning), whose value is JSON: `requestContext`
 * (requestId, functionArn, condition, approximateInvokeCount), `responseContext` (statusCode,
 * executedVersion, functionError), `version` "1.0", `timestamp`, `KafkaBatchInfo` (batchSize,
 * eventSourceArn, bootstrapServers, payloadSize, recordInfo {offset as a string, timestamp}) and
 * `payload`: the invocation event holding that one record (base64 key and value, headers as
 * byte arrays, the offset as a number).
 *
 * Left unspecified there, and chosen here: the Kafka headers of the destination message (none);
 * `batchSize` (1, as in the example: each message carries one record); `payloadSize` (the UTF-8 bytes
 * of `payload` as JSON); `recordInfo.timestamp` (the record's own timestamp, ISO-8601; the example's
 * differs from its record's); `timestamp` (when the batch was given up); the conditions other than
 * the example's `RetriesExhausted` (`RecordAgeExceeded` for a record older than the maximum age).
 */
import { fromEventHeaders, partitionKey, type MSKEvent, type MSKRecord } from './msk-event';

export type OnFailureCondition = 'RetriesExhausted' | 'RecordAgeExceeded';

/** Why and how the batch failed, as the mapping saw its last invocation. */
export interface BatchFailure {
  readonly requestId: string;
  readonly functionArn: string;
  readonly condition: OnFailureCondition;
  /** How many times the batch was invoked. */
  readonly approximateInvokeCount: number;
  /** Epoch ms of the decision to give up. */
  readonly at: number;
  /** @default 200 (the invocation answered, with an error) */
  readonly statusCode?: number;
  /** @default '$LATEST' */
  readonly executedVersion?: string;
  /** @default 'Unhandled' */
  readonly functionError?: string;
}

/** The JSON value of an on-failure message. */
export interface OnFailureValue {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: string;
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError: string;
  };
  readonly version: '1.0';
  readonly timestamp: string;
  readonly KafkaBatchInfo: {
    readonly batchSize: number;
    readonly eventSourceArn?: string;
    readonly bootstrapServers: string;
    readonly payloadSize: number;
    readonly recordInfo: { readonly offset: string; readonly timestamp: string };
  };
  readonly payload: MSKEvent;
}

export interface OnFailureMessage {
  readonly key: Buffer | null;
  readonly value: string;
  readonly headers: Record<string, string>;
}

/** The messages Lambda writes to the on-failure topic for a failed batch: one per record. */
export function onFailureRecords(event: MSKEvent, failure: BatchFailure): OnFailureMessage[] {
  const records = Object.values(event.records).flat();
  return records.map((record) => {
    const payload: MSKEvent = {
      bootstrapServers: event.bootstrapServers,
      eventSource: event.eventSource,
      ...(event.eventSourceArn !== undefined ? { eventSourceArn: event.eventSourceArn } : {}),
      records: { [partitionKey(record.topic, record.partition)]: [record] },
    };
    const value: OnFailureValue = {
      requestContext: {
        requestId: failure.requestId,
        functionArn: failure.functionArn,
        condition: failure.condition,
        approximateInvokeCount: failure.approximateInvokeCount,
      },
      responseContext: {
        statusCode: failure.statusCode ?? 200,
        executedVersion: failure.executedVersion ?? '$LATEST',
        functionError: failure.functionError ?? 'Unhandled',
      },
      version: '1.0',
      timestamp: new Date(failure.at).toISOString(),
      KafkaBatchInfo: {
        batchSize: 1,
        ...(event.eventSourceArn !== undefined ? { eventSourceArn: event.eventSourceArn } : {}),
        bootstrapServers: event.bootstrapServers,
        payloadSize: Buffer.byteLength(JSON.stringify(payload)),
        recordInfo: { offset: String(record.offset), timestamp: new Date(record.timestamp).toISOString() },
      },
      payload,
    };
    return {
      key: record.key == null ? null : Buffer.from(record.key, 'base64'),
      value: JSON.stringify(value),
      headers: {},
    };
  });
}

/** A record to send back to its source topic. */
export interface ReplayRecord {
  readonly topic: string;
  /** The source partition it came from (a replay may let the key choose instead). */
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** In order, repeated names kept. */
  readonly headers: { name: string; value: Buffer }[];
}

function isOnFailureValue(value: unknown): value is OnFailureValue {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<OnFailureValue>;
  return (
    typeof v.requestContext === 'object' &&
    typeof v.KafkaBatchInfo === 'object' &&
    typeof v.payload === 'object' &&
    v.payload !== null &&
    typeof v.payload.records === 'object'
  );
}

/**
 * What replaying one on-failure message re-publishes: each record of its payload with its original
 * topic, key, value and headers (bytes as they were). Throws on a value that is not in the
 * on-failure shape.
 */
export function recordsToReplay(value: string | Buffer): ReplayRecord[] {
  const parsed: unknown = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  if (!isOnFailureValue(parsed)) throw new Error('not a Lambda on-failure destination record');
  return Object.values(parsed.payload.records)
    .flat()
    .map((record: MSKRecord) => ({
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      key: record.key == null ? null : Buffer.from(record.key, 'base64'),
      value: record.value == null ? null : Buffer.from(record.value, 'base64'),
      headers: fromEventHeaders(record.headers),
    }));
}
