/**
 * The per-user order view that enrich adds to each event (`orders` of events.enriched), derived
 * from the user's order items at read time (docs/events-path.md, "enrich").
 */
import type { AppEvent } from '../shared/contract/app-event';
import type { EnrichedEvent, OrdersView } from '../shared/contract/enriched-event';
import type { OrderStatus } from '../shared/contract/order-change';

/** One order as the state table holds it. */
export interface OrderState {
  readonly orderId: number;
  readonly userId: string;
  readonly status: OrderStatus;
  readonly amountCents: number;
  readonly currency: string;
  /** `created_at` as Debezium wrote it (0 to 9 fractional digits). */
  readonly createdAt: string;
  readonly deleted: boolean;
}

const OPEN: ReadonlySet<OrderStatus> = new Set(['created', 'paid']);
const VALUED: ReadonlySet<OrderStatus> = new Set(['paid', 'shipped']);

const INSTANT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/;

function instantParts(iso: string): { base: string; fraction: string } {
  const match = INSTANT.exec(iso);
  if (!match) throw new Error(`not an ISO-8601 UTC time: ${iso}`);
  return { base: match[1]!, fraction: match[2] ?? '' };
}

/** A key that sorts as the instants do, whatever the number of fractional digits (up to 9). */
export function instantSortKey(iso: string): string {
  const { base, fraction } = instantParts(iso);
  return `${base}.${fraction.slice(0, 9).padEnd(9, '0')}`;
}

/** The instant at millisecond precision (truncated), as the contract writes times. */
export function toMillisecondTime(iso: string): string {
  const { base, fraction } = instantParts(iso);
  return `${base}.${fraction.slice(0, 3).padEnd(3, '0')}Z`;
}

/**
 * The view of one user's orders: `lifetimeCount` = orders not deleted; `lifetimeValueCents` = per
 * currency, the sum over orders `paid` or `shipped`; `openCount` = orders `created` or `paid`; the
 * last order = the greatest `createdAt` (ties: the greater id). Deleted orders count nowhere.
 */
export function deriveOrdersView(orders: readonly OrderState[]): OrdersView {
  let lifetimeCount = 0;
  let openCount = 0;
  const value = new Map<string, number>();
  let last: { order: OrderState; key: string } | undefined;
  for (const order of orders) {
    if (order.deleted) continue;
    lifetimeCount += 1;
    if (OPEN.has(order.status)) openCount += 1;
    if (VALUED.has(order.status))
      value.set(order.currency, (value.get(order.currency) ?? 0) + order.amountCents);
    const key = instantSortKey(order.createdAt);
    if (!last || key > last.key || (key === last.key && order.orderId > last.order.orderId)) {
      last = { order, key };
    }
  }
  const lifetimeValueCents: Record<string, number> = {};
  for (const currency of [...value.keys()].sort()) lifetimeValueCents[currency] = value.get(currency)!;
  return {
    lifetimeCount,
    lifetimeValueCents,
    openCount,
    lastOrderId: last ? last.order.orderId : null,
    lastStatus: last ? last.order.status : null,
    lastOrderAt: last ? toMillisecondTime(last.order.createdAt) : null,
  };
}

/** The events.enriched value of one event: the event unchanged, plus `orders` and `enrichedAt`. */
export function enrichedEvent(event: AppEvent, orders: OrdersView, nowMs: number): EnrichedEvent {
  return { ...event, orders, enrichedAt: new Date(nowMs).toISOString() };
}
