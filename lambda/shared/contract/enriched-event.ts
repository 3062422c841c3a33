/**
 * The events.enriched value (../../../../shared/CONTRACT.md, key: `userId`): the app event unchanged
 * (appEventV1, unknown fields kept), plus `orders`, the user's order view when enrich processed the
 * event, and `enrichedAt`. The aggregate consumer validates its input with `enrichedEventV1`.
 */
import * as z from 'zod/mini';
import { appEventV1 } from './app-event';
import { currencyCode, ORDER_STATUSES } from './order-change';

/** Milliseconds, UTC, as the contract writes times. */
const time = z.iso.datetime({
  precision: 3,
  error: 'must be an ISO-8601 UTC time with milliseconds, e.g. 2026-11-25T06:33:57.123Z',
});

const count = z.int('must be an integer').check(z.minimum(0, 'must not be negative'));

/**
 * The user's orders as known when the event was processed (all zero / null / `{}` when the user has
 * no orders yet). Deleted orders are not counted.
 */
export const ordersViewV1 = z.object({
  /** Orders of the user that exist (not deleted), whatever their status. */
  lifetimeCount: count,
  /** Per ISO-4217 currency, the sum of `amount_cents` of the orders `paid` or `shipped`. */
  lifetimeValueCents: z.record(currencyCode, z.int('must be an integer (minor units)')),
  /** Orders `created` or `paid`. */
  openCount: count,
  /** The order with the greatest `created_at` (ties: the greater id), or null. */
  lastOrderId: z.nullable(z.int('must be an integer')),
  lastStatus: z.nullable(z.enum(ORDER_STATUSES, `must be one of ${ORDER_STATUSES.join(', ')}`)),
  /** That order's `created_at`, at millisecond precision. */
  lastOrderAt: z.nullable(time),
});

export type OrdersView = z.infer<typeof ordersViewV1>;

/** The view of a user without orders. */
export const NO_ORDERS: OrdersView = Object.freeze({
  lifetimeCount: 0,
  lifetimeValueCents: Object.freeze({}) as Record<string, number>,
  openCount: 0,
  lastOrderId: null,
  lastStatus: null,
  lastOrderAt: null,
});

export const enrichedEventV1 = z.extend(appEventV1, {
  orders: ordersViewV1,
  /** When enrich processed the event. */
  enrichedAt: time,
});

export type EnrichedEvent = z.infer<typeof enrichedEventV1>;
