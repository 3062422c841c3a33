/**
 * The cdc.orders value (../../../../shared/CONTRACT.md): the row of `public.orders` after the change,
 * as Debezium's `ExtractNewRecordState` gives it, plus `__op`, `__lsn`, `__source_ts_ms` and, for
 * deletes, `__deleted: "true"`. A tombstone (null value) follows each delete; its key is
 * `{"id": <order id>}`. Unknown fields are kept (consumers ignore them).
 */
import * as z from 'zod/mini';

/** The statuses of an order (the table's `status` column). */
export const ORDER_STATUSES = ['created', 'paid', 'shipped', 'cancelled', 'refunded'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** ISO-4217 alphabetic code. */
export const currencyCode = z.string().check(z.regex(/^[A-Z]{3}$/, 'must be an ISO-4217 code such as EUR'));

/** A timestamptz as Debezium writes it: ISO-8601 UTC, 0 to 9 fractional digits. */
const instant = z.iso.datetime({ error: 'must be an ISO-8601 UTC time, e.g. 2026-11-25T06:33:57.123456Z' });

/** An order id: the table's bigint primary key, within the integers JSON parsing keeps exact. */
export const orderId = z.int('must be an integer').check(z.minimum(1, 'must be positive'));

export const orderChangeV1 = z.looseObject({
  id: orderId,
  user_id: z
    .string()
    .check(z.minLength(1, 'must not be empty'), z.maxLength(128, 'must be at most 128 characters')),
  status: z.enum(ORDER_STATUSES, `must be one of ${ORDER_STATUSES.join(', ')}`),
  amount_cents: z.int('must be an integer (minor units)'),
  currency: currencyCode,
  created_at: instant,
  updated_at: instant,
  __op: z.enum(['c', 'u', 'd', 'r'], 'must be c, u, d or r'),
  /**
   * The source log position: a non-negative integer, as a JSON number or a string of digits (a
   * PostgreSQL LSN may exceed 2^53; the state keeps it as a DynamoDB number, see `lsnText`).
   */
  __lsn: z.union([
    z
      .number()
      .check(z.refine((n) => Number.isInteger(n) && n >= 0, { message: 'must be a non-negative integer' })),
    z.string().check(z.regex(/^(0|[1-9][0-9]{0,37})$/, 'must be a non-negative integer')),
  ]),
  __source_ts_ms: z.optional(z.number()),
  __deleted: z.optional(z.enum(['true', 'false'], 'must be "true" or "false"')),
});

export type OrderChange = z.infer<typeof orderChangeV1>;

/** The key of a cdc.orders record: `{"id": <order id>}`. */
export const orderKey = z.looseObject({ id: orderId });

/** The order id of a cdc.orders key (UTF-8 JSON), or undefined when the key is not one. */
export function parseOrderKey(key: string | null): number | undefined {
  if (key === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(key);
  } catch {
    return undefined;
  }
  const result = z.safeParse(orderKey, parsed);
  return result.success ? result.data.id : undefined;
}

/**
 * `__lsn` as the decimal text of a DynamoDB number (exact: a JSON number is converted through
 * BigInt, so a value beyond 2^53 keeps the digits JSON parsing gave it).
 */
export function lsnText(lsn: number | string): string {
  return typeof lsn === 'string' ? lsn : BigInt(lsn).toString();
}

/** Whether a change is a delete (`__op: "d"`, or `__deleted: "true"`). */
export function isDelete(change: OrderChange): boolean {
  return change.__op === 'd' || change.__deleted === 'true';
}
