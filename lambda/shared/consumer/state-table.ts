/**
 * The key schema of every consumer's DynamoDB state table, defined once: the CDK tables
 * (lib/events/), the local tables of the engine harness and the consumers all use these names.
 * Items: `pk` (S) + `sk` (S); `expiresAt` (N, epoch seconds) is the TTL attribute.
 */
export const STATE_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
} as const;

/**
 * The enrich table's sparse index of order items by user (items without `userId`, such as dedupe
 * claims, are not in it). Read with eventual consistency.
 */
export const ORDERS_BY_USER_INDEX = {
  name: 'byUser',
  partitionKey: 'userId',
  sortKey: 'sk',
} as const;
