/**
 * Window state items in the aggregate state table: `pk=window#<windowKey>, sk=state`, read with
 * strong consistency and written whole with a condition on the `version` that was read (optimistic
 * concurrency: only single-item conditional writes, no transactions).
 */
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { STATE_TABLE } from '../shared/consumer/state-table';
import { hllCreate } from './hyperloglog';
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
  /** Per source `topic:partition`, the highest offset this state includes. */
  readonly marks: Readonly<Record<string, number>>;
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
    const item = result.Item;
    if (!item)
      return { ref, events: 0, users: hllCreate(), revenueCents: {}, version: 0, marks: {}, updatedAtMs: 0 };
    return {
      ref,
      events: Number(item.events?.N ?? 0),
      users: hllCreate(item.users?.B),
      revenueCents: numberMap(item.revenueCents),
      version: Number(item.version?.N ?? 0),
      marks: numberMap(item.marks),
      updatedAtMs: Number(item.updatedAtMs?.N ?? 0),
    };
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
            updatedAtMs: { N: String(next.updatedAtMs) },
            [STATE_TABLE.ttlAttribute]: {
              N: String(Math.ceil(ref.windowEndMs / 1000) + this.retentionAfterEndSeconds),
            },
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
