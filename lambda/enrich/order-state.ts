/**
 * Order state in the enrich table: one item per order (`pk=order#<id>, sk=order`), written from
 * cdc.orders with single-item conditional writes, and read per user through the sparse `byUser`
 * index. Requests are built by pure functions (tested as such) and sent with the low-level
 * DynamoDB client, so that `lsn` stays a DynamoDB number of any size.
 */
import {
  ConditionalCheckFailedException,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type PutItemCommandInput,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  ORDER_STATUSES,
  isDelete,
  lsnText,
  type OrderChange,
  type OrderStatus,
} from '../shared/contract/order-change';
import { ORDERS_BY_USER_INDEX, STATE_TABLE } from '../shared/consumer/state-table';
import type { RecordPosition } from '../shared/consumer/types';
import type { OrderState } from './orders-view';

/** The sort key of every order item. */
export const ORDER_SORT_KEY = 'order';

export function orderPartitionKey(orderId: number): string {
  return `order#${orderId}`;
}

/**
 * The conditional put of one change. Guarded by the order's own `__lsn`: it applies only when the
 * item does not exist or holds an older change, so a replay or a reordering never moves an order
 * backwards, and the same change again changes nothing. A delete keeps the row values and the
 * `lsn`, is marked `deleted` and expires after `deletedTtlSeconds`. `sourcePartition` and
 * `sourceOffset` record where the applied change was read (the tombstone guard uses them).
 */
export function orderPut(
  table: string,
  change: OrderChange,
  position: RecordPosition,
  nowMs: number,
  deletedTtlSeconds: number,
): PutItemCommandInput {
  const deleted = isDelete(change);
  const lsn = lsnText(change.__lsn);
  const item: Record<string, AttributeValue> = {
    [STATE_TABLE.partitionKey]: { S: orderPartitionKey(change.id) },
    [STATE_TABLE.sortKey]: { S: ORDER_SORT_KEY },
    orderId: { N: String(change.id) },
    [ORDERS_BY_USER_INDEX.partitionKey]: { S: change.user_id },
    status: { S: change.status },
    amountCents: { N: String(change.amount_cents) },
    currency: { S: change.currency },
    createdAt: { S: change.created_at },
    updatedAt: { S: change.updated_at },
    lsn: { N: lsn },
    deleted: { BOOL: deleted },
    sourcePartition: { N: String(position.partition) },
    sourceOffset: { N: String(position.offset) },
  };
  if (deleted) item[STATE_TABLE.ttlAttribute] = { N: String(Math.floor(nowMs / 1000) + deletedTtlSeconds) };
  return {
    TableName: table,
    Item: item,
    ConditionExpression: 'attribute_not_exists(#pk) OR #lsn < :lsn',
    ExpressionAttributeNames: { '#pk': STATE_TABLE.partitionKey, '#lsn': 'lsn' },
    ExpressionAttributeValues: { ':lsn': { N: lsn } },
  };
}

/**
 * The conditional update of a tombstone (no `__lsn`): it marks an existing, not yet deleted order
 * deleted, only when the change applied to it was read before the tombstone in the same partition
 * (a redelivered tombstone cannot delete an order created again after it). An order without an item
 * is left alone (its delete was compacted away: the order never existed here).
 */
export function tombstoneUpdate(
  table: string,
  orderId: number,
  position: RecordPosition,
  nowMs: number,
  deletedTtlSeconds: number,
): UpdateItemCommandInput {
  return {
    TableName: table,
    Key: {
      [STATE_TABLE.partitionKey]: { S: orderPartitionKey(orderId) },
      [STATE_TABLE.sortKey]: { S: ORDER_SORT_KEY },
    },
    UpdateExpression: 'SET #deleted = :true, #expiresAt = :expiresAt, #offset = :offset',
    ConditionExpression:
      'attribute_exists(#pk) AND #deleted = :false AND #partition = :partition AND #offset < :offset',
    ExpressionAttributeNames: {
      '#pk': STATE_TABLE.partitionKey,
      '#deleted': 'deleted',
      '#expiresAt': STATE_TABLE.ttlAttribute,
      '#partition': 'sourcePartition',
      '#offset': 'sourceOffset',
    },
    ExpressionAttributeValues: {
      ':true': { BOOL: true },
      ':false': { BOOL: false },
      ':expiresAt': { N: String(Math.floor(nowMs / 1000) + deletedTtlSeconds) },
      ':partition': { N: String(position.partition) },
      ':offset': { N: String(position.offset) },
    },
  };
}

/** What a conditional write did: `applied`, or `skipped` because its guard refused it. */
export type WriteOutcome = 'applied' | 'skipped';

/**
 * Sends a conditional write. A failed condition is the guard at work (`skipped`); any other error
 * (throttling, 5xx, network) is thrown: transient, the runtime retries.
 */
export async function conditionalWrite(
  client: DynamoDBClient,
  input: PutItemCommandInput | UpdateItemCommandInput,
): Promise<WriteOutcome> {
  try {
    if ('Item' in input) await client.send(new PutItemCommand(input));
    else await client.send(new UpdateItemCommand(input));
    return 'applied';
  } catch (err) {
    if (
      err instanceof ConditionalCheckFailedException ||
      (err as Error).name === 'ConditionalCheckFailedException'
    ) {
      return 'skipped';
    }
    throw err;
  }
}

const STATUSES: ReadonlySet<string> = new Set(ORDER_STATUSES);

/** An order item as the index returns it; throws on an item this code did not write. */
export function orderStateFromItem(item: Record<string, AttributeValue>): OrderState {
  const s = (name: string): string => {
    const value = item[name]?.S;
    if (value === undefined) throw new Error(`order item without string attribute ${name}`);
    return value;
  };
  const n = (name: string): number => {
    const value = item[name]?.N;
    if (value === undefined) throw new Error(`order item without number attribute ${name}`);
    return Number(value);
  };
  const status = s('status');
  if (!STATUSES.has(status)) throw new Error(`order item with unknown status ${status}`);
  return {
    orderId: n('orderId'),
    userId: s(ORDERS_BY_USER_INDEX.partitionKey),
    status: status as OrderStatus,
    amountCents: n('amountCents'),
    currency: s('currency'),
    createdAt: s('createdAt'),
    deleted: item.deleted?.BOOL === true,
  };
}

/** The attributes the view needs (the index projects them). */
export const VIEW_ATTRIBUTES = [
  'orderId',
  ORDERS_BY_USER_INDEX.partitionKey,
  'status',
  'amountCents',
  'currency',
  'createdAt',
  'deleted',
];

/** Every order item of one user, from the `byUser` index, all pages. */
export async function userOrders(
  client: DynamoDBClient,
  table: string,
  userId: string,
): Promise<OrderState[]> {
  const orders: OrderState[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: table,
        IndexName: ORDERS_BY_USER_INDEX.name,
        KeyConditionExpression: '#user = :user',
        ProjectionExpression: VIEW_ATTRIBUTES.map((_, i) => `#a${i}`).join(', '),
        ExpressionAttributeNames: {
          '#user': ORDERS_BY_USER_INDEX.partitionKey,
          ...Object.fromEntries(VIEW_ATTRIBUTES.map((a, i) => [`#a${i}`, a])),
        },
        ExpressionAttributeValues: { ':user': { S: userId } },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) orders.push(orderStateFromItem(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return orders;
}
