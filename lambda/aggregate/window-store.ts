/**
 * Window state items in the aggregate state table: `pk=window#<windowKey>, sk=state`, read with
 * strong consistency and written whole with a condition on the `version` that was read (optimistic
 * concurrency: only single-item conditional writes, no transactions). Also the consumer's progress
 * items: `pk=progress#<topic>:<partition>, sk=<consumer>`, the fully processed batch ranges of a
 * source partition.
 */
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type BatchGetItemCommandOutput,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { STATE_TABLE } from '../shared/consumer/state-table';
import { hllCreate } from './hyperloglog';
import { addInterval, flatten, newest, pairs, type Interval } from './intervals';
import type { WindowRef } from './windows';

/** A window's state as stored; `version` 0 means there is no item yet. */
export interface WindowState {
  readonly ref: WindowRef;
  readonly events: number;
  /** The HyperLogLog registers of the distinct userIds. */
  readonly users: Uint8Array;
  /** ISO-4217 currency -> minor units. */
  readonly revenueCents: Readonly<Record<string, number>>;
  readonly version: number;
  /** Per source `topic:partition`, the highest offset this state includes (its own records). */
  readonly marks: Readonly<Record<string, number>>;
  /**
   * Per source `topic:partition`, the offset intervals whose records of this window the state
   * includes (the partition batch ranges that wrote it, gaps of processed batches closed).
   */
  readonly intervals: Readonly<Record<string, readonly Interval[]>>;
  /** Epoch ms of the write that made this version (0 before the first). */
  readonly updatedAtMs: number;
}

/** The high-water mark key of a source partition. */
export function markKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

export function windowItemKey(windowKey: string): Record<string, AttributeValue> {
  return {
    [STATE_TABLE.partitionKey]: { S: `window#${windowKey}` },
    [STATE_TABLE.sortKey]: { S: 'state' },
  };
}

function numberMap(attribute: AttributeValue | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(attribute?.M ?? {})) out[k] = Number(v.N);
  return out;
}

function toNumberMap(values: Readonly<Record<string, number>>): AttributeValue {
  return { M: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { N: String(v) }])) };
}

function numbers(attribute: AttributeValue | undefined): number[] {
  return (attribute?.L ?? []).map((v) => Number(v.N));
}

function toNumbers(values: readonly number[]): AttributeValue {
  return { L: values.map((v) => ({ N: String(v) })) };
}

function intervalMap(attribute: AttributeValue | undefined): Record<string, Interval[]> {
  const out: Record<string, Interval[]> = {};
  for (const [k, v] of Object.entries(attribute?.M ?? {})) out[k] = pairs(numbers(v));
  return out;
}

function toIntervalMap(values: Readonly<Record<string, readonly Interval[]>>): AttributeValue {
  return { M: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, toNumbers(flatten(v))])) };
}

/** The state of a stored item (an empty state of version 0 when there is none). */
function stateOf(ref: WindowRef, item: Record<string, AttributeValue> | undefined): WindowState {
  if (!item)
    return {
      ref,
      events: 0,
      users: hllCreate(),
      revenueCents: {},
      version: 0,
      marks: {},
      intervals: {},
      updatedAtMs: 0,
    };
  return {
    ref,
    events: Number(item.events?.N ?? 0),
    users: hllCreate(item.users?.B),
    revenueCents: numberMap(item.revenueCents),
    version: Number(item.version?.N ?? 0),
    marks: numberMap(item.marks),
    intervals: intervalMap(item.intervals),
    updatedAtMs: Number(item.updatedAtMs?.N ?? 0),
  };
}

/** BatchGetItem reads at most this many keys per request. */
const BATCH_GET_KEYS = 100;

export class WindowStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    /** Seconds kept after the window closes (the item's TTL is windowEnd + this). */
    private readonly retentionAfterEndSeconds: number,
  ) {}

  /** The window's current state (an empty state of version 0 when there is no item). */
  async read(ref: WindowRef): Promise<WindowState> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: windowItemKey(ref.windowKey), ConsistentRead: true }),
    );
    return stateOf(ref, result.Item);
  }

  /** The current states of many windows (BatchGetItem, strongly consistent), in the order given. */
  async readMany(refs: readonly WindowRef[]): Promise<WindowState[]> {
    const items = new Map<string, Record<string, AttributeValue>>();
    for (let i = 0; i < refs.length; i += BATCH_GET_KEYS) {
      let keys: Record<string, AttributeValue>[] | undefined = refs
        .slice(i, i + BATCH_GET_KEYS)
        .map((r) => windowItemKey(r.windowKey));
      // Unprocessed keys (throughput) are asked for again; the runtime's budget bounds a long throttle.
      while (keys && keys.length > 0) {
        const result: BatchGetItemCommandOutput = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of result.Responses?.[this.table] ?? [])
          items.set(item[STATE_TABLE.partitionKey]!.S!, item);
        keys = result.UnprocessedKeys?.[this.table]?.Keys;
      }
    }
    return refs.map((ref) => stateOf(ref, items.get(`window#${ref.windowKey}`)));
  }

  /** When the item of a window expires (epoch seconds). */
  expiresAt(ref: WindowRef): number {
    return Math.ceil(ref.windowEndMs / 1000) + this.retentionAfterEndSeconds;
  }

  /**
   * Writes `next` whole if the stored version is still `next.version - 1`. Returns false when another
   * writer got there first (the caller re-reads and merges again).
   */
  async write(next: WindowState): Promise<boolean> {
    const { ref } = next;
    const expected = next.version - 1;
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            ...windowItemKey(ref.windowKey),
            windowSize: { S: ref.windowSize },
            windowStartMs: { N: String(ref.windowStartMs) },
            windowEndMs: { N: String(ref.windowEndMs) },
            dimension: { S: ref.dimension },
            value: { S: ref.value },
            events: { N: String(next.events) },
            users: { B: next.users },
            revenueCents: toNumberMap(next.revenueCents),
            version: { N: String(next.version) },
            marks: toNumberMap(next.marks),
            intervals: toIntervalMap(next.intervals),
            updatedAtMs: { N: String(next.updatedAtMs) },
            [STATE_TABLE.ttlAttribute]: { N: String(this.expiresAt(ref)) },
          },
          ConditionExpression: expected === 0 ? 'attribute_not_exists(#pk)' : '#version = :expected',
          ExpressionAttributeNames:
            expected === 0 ? { '#pk': STATE_TABLE.partitionKey } : { '#version': 'version' },
          ...(expected === 0 ? {} : { ExpressionAttributeValues: { ':expected': { N: String(expected) } } }),
        }),
      );
      return true;
    } catch (err) {
      if (
        err instanceof ConditionalCheckFailedException ||
        (err as Error).name === 'ConditionalCheckFailedException'
      )
        return false;
      throw err;
    }
  }
}

/**
 * At most this many processed ranges are kept per source partition (newest first): only batches
 * that never completed (on-failure) and partition batches whose records were all dead-lettered
 * leave a hole between two ranges, so a handful in practice. Older ranges are forgotten: gaps
 * below them are no longer closed, which only keeps window interval lists longer.
 */
export const MAX_PROGRESS_RANGES = 64;

/** The progress item's key. */
export function progressItemKey(
  topic: string,
  partition: number,
  consumer: string,
): Record<string, AttributeValue> {
  return {
    [STATE_TABLE.partitionKey]: { S: `progress#${topic}:${partition}` },
    [STATE_TABLE.sortKey]: { S: consumer },
  };
}

/** One source partition's processed ranges as read, with the revision they were read at. */
export interface Progress {
  readonly ranges: readonly Interval[];
  /** Incremented by each write (0: no item). */
  readonly revision: number;
}

/**
 * The fully processed batch ranges of one consumer and source partition. Only the partition's own
 * invocation writes them (one at a time); each write is conditional on the revision read.
 */
export class ProgressStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly consumer: string,
  ) {}

  async read(topic: string, partition: number): Promise<Progress> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: progressItemKey(topic, partition, this.consumer),
        ConsistentRead: true,
      }),
    );
    if (!Item) return { ranges: [], revision: 0 };
    return { ranges: pairs(numbers(Item.ranges)), revision: Number(Item.revision?.N ?? 0) };
  }

  /** Adds a fully processed batch range (merged with adjacent ones, the newest kept). */
  async append(topic: string, partition: number, range: Interval, attempts = 3): Promise<void> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const read = await this.read(topic, partition);
      const ranges = newest(addInterval(read.ranges, range), MAX_PROGRESS_RANGES);
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: {
              ...progressItemKey(topic, partition, this.consumer),
              ranges: toNumbers(flatten(ranges)),
              revision: { N: String(read.revision + 1) },
            },
            ConditionExpression: read.revision === 0 ? 'attribute_not_exists(#pk)' : '#revision = :revision',
            ExpressionAttributeNames:
              read.revision === 0 ? { '#pk': STATE_TABLE.partitionKey } : { '#revision': 'revision' },
            ...(read.revision === 0
              ? {}
              : { ExpressionAttributeValues: { ':revision': { N: String(read.revision) } } }),
          }),
        );
        return;
      } catch (err) {
        if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
      }
    }
    throw new Error(`the progress of ${topic}:${partition} kept changing under ${attempts} attempts`);
  }
}
