/**
 * The enrich consumer (docs/events-path.md, "enrich"): cdc.orders maintains order state in the
 * enrich table; events.user records get the user's order view and go to events.enriched, keyed by
 * `userId`.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MAX_PROPERTIES_BYTES, appEventV1, type AppEvent } from '../shared/contract/app-event';
import type { OrdersView } from '../shared/contract/enriched-event';
import { orderChangeV1, parseOrderKey, type OrderChange } from '../shared/contract/order-change';
import { forEachLimited } from '../shared/consumer/concurrency';
import { claimEvents, markApplied, positionKey } from '../shared/consumer/dedupe';
import type { ConsumerDefinition, PartitionContext, SourceRecord } from '../shared/consumer/types';
import { conditionalWrite, orderPut, tombstoneUpdate, userOrders } from './order-state';
import { deriveOrdersView, enrichedEvent } from './orders-view';

export const CONSUMER_NAME = 'enrich';

/**
 * The largest events.user value enrich accepts: `properties` at its contract maximum plus 4 KiB for
 * the other fields (the known ones take under 400 bytes; unknown fields share the rest).
 */
export const EVENTS_MAX_VALUE_BYTES = MAX_PROPERTIES_BYTES + 4 * 1024;

/** The largest cdc.orders value enrich accepts: a row of public.orders takes under 1 KiB. */
export const ORDERS_MAX_VALUE_BYTES = 16 * 1024;

/** Concurrent DynamoDB requests of one partition (order writes of different orders, view reads). */
export const DYNAMODB_CONCURRENCY = 16;

/** The headers of an events.enriched record. */
export const ENRICHED_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
  'schema-version': '1',
});

export interface EnrichOptions {
  /** events.user */
  readonly eventsTopic: string;
  /** cdc.orders */
  readonly ordersTopic: string;
  /** events.enriched */
  readonly enrichedTopic: string;
  /** dlq.enrich */
  readonly deadLetterTopic: string;
  /** The enrich state table (order items and dedupe claims). */
  readonly table: string;
  readonly dynamo: DynamoDBClient;
  /** How long an event's claim is remembered; also the TTL of a deleted order. */
  readonly dedupeHorizonSeconds: number;
  /** After how long a claim that was never applied may be taken over (the function timeout). */
  readonly claimLeaseSeconds: number;
  /** Epoch ms; the invocation's clock when not given. */
  readonly clock?: () => number;
}

export function createEnrichConsumer(options: EnrichOptions): ConsumerDefinition {
  const now = (context: PartitionContext): number => (options.clock ? options.clock() : context.now());

  /**
   * Order changes of one partition. The changes of one order are applied in offset order; different
   * orders concurrently (each order is guarded by its own lsn, so a retry after a failure re-applies
   * nothing that was applied).
   */
  async function applyOrders(
    records: readonly SourceRecord<unknown>[],
    context: PartitionContext,
  ): Promise<void> {
    const byOrder = new Map<number, SourceRecord<OrderChange | null>[]>();
    for (const record of records as readonly SourceRecord<OrderChange | null>[]) {
      const id = parseOrderKey(record.key);
      if (id === undefined) {
        await context.deadLetter(record, 'key is not {"id": <order id>}');
        continue;
      }
      if (record.value !== null && record.value.id !== id) {
        await context.deadLetter(record, `value id ${record.value.id} differs from key id ${id}`);
        continue;
      }
      const chain = byOrder.get(id);
      if (chain) chain.push(record);
      else byOrder.set(id, [record]);
    }
    await forEachLimited([...byOrder], DYNAMODB_CONCURRENCY, async ([id, chain]) => {
      for (const record of chain) {
        const at = now(context);
        const outcome = await conditionalWrite(
          options.dynamo,
          record.value === null
            ? tombstoneUpdate(options.table, id, record, at, options.dedupeHorizonSeconds)
            : orderPut(options.table, record.value, record, at, options.dedupeHorizonSeconds),
        );
        const kind = record.value === null ? 'Tombstones' : 'OrderChanges';
        context.count(outcome === 'applied' ? `${kind}Applied` : `${kind}Skipped`);
      }
    });
  }

  /**
   * App events of one partition: claimed per eventId, enriched with the view of each user (read
   * once per user), produced in offset order in one call, then marked applied.
   */
  async function applyEvents(
    records: readonly SourceRecord<unknown>[],
    context: PartitionContext,
  ): Promise<void> {
    const events = records as readonly SourceRecord<AppEvent>[];
    const claims = events.map((record) => ({
      eventId: record.value!.eventId,
      position: record,
      event: record.value!,
    }));
    const decisions = await claimEvents(
      options.dynamo,
      {
        table: options.table,
        consumer: CONSUMER_NAME,
        horizonSeconds: options.dedupeHorizonSeconds,
        leaseSeconds: options.claimLeaseSeconds,
        now: now(context),
      },
      claims,
    );
    const fresh = claims.filter((claim) => decisions.get(positionKey(claim.position)) === 'proceed');
    context.count('DuplicateEvents', events.length - fresh.length);
    if (fresh.length === 0) return;

    const views = new Map<string, OrdersView>();
    const users = [...new Set(fresh.map(({ event }) => event.userId))];
    await forEachLimited(users, DYNAMODB_CONCURRENCY, async (userId) => {
      views.set(userId, deriveOrdersView(await userOrders(options.dynamo, options.table, userId)));
    });

    const at = now(context);
    await context.produce(
      options.enrichedTopic,
      fresh.map(({ event }) => ({
        key: event.userId,
        value: JSON.stringify(enrichedEvent(event, views.get(event.userId)!, at)),
        headers: { ...ENRICHED_HEADERS },
      })),
    );
    const lost = await markApplied(options.dynamo, { table: options.table, consumer: CONSUMER_NAME }, fresh);
    // Claims taken over meanwhile (this attempt outlived the lease): the other copy marks them.
    context.count('ClaimsLost', lost.length);
    context.count('EventsEnriched', fresh.length);
  }

  return {
    name: CONSUMER_NAME,
    deadLetterTopic: options.deadLetterTopic,
    sources: {
      [options.eventsTopic]: { schema: appEventV1, maxValueBytes: EVENTS_MAX_VALUE_BYTES, tombstones: false },
      [options.ordersTopic]: {
        schema: orderChangeV1,
        maxValueBytes: ORDERS_MAX_VALUE_BYTES,
        tombstones: true,
      },
    },
    async apply(records, context) {
      if (records.length === 0) return;
      const topic = records[0]!.topic;
      if (topic === options.ordersTopic) await applyOrders(records, context);
      else if (topic === options.eventsTopic) await applyEvents(records, context);
      else throw new Error(`enrich has no source ${topic}`);
    },
  };
}
