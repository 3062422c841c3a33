/**
 * The pure parts of the enrich consumer: the per-user order view, the guarded writes of order
 * changes and tombstones, and the events.enriched value. The handler on the real engines:
 * test/engines/enrich.test.ts.
 */
import * as z from 'zod/mini';
import { enrichedEventV1, NO_ORDERS } from '../../lambda/shared/contract/enriched-event';
import {
  lsnText,
  orderChangeV1,
  parseOrderKey,
  type OrderChange,
} from '../../lambda/shared/contract/order-change';
import { orderPut, orderStateFromItem, tombstoneUpdate } from '../../lambda/enrich/order-state';
import {
  deriveOrdersView,
  enrichedEvent,
  instantSortKey,
  toMillisecondTime,
  type OrderState,
} from '../../lambda/enrich/orders-view';

function order(partial: Partial<OrderState> & Pick<OrderState, 'orderId'>): OrderState {
  return {
    userId: 'user-1',
    status: 'created',
    amountCents: 1000,
    currency: 'EUR',
    createdAt: '2026-11-25T06:00:00.000000Z',
    deleted: false,
    ...partial,
  };
}

describe('the orders view', () => {
  test('a user without orders: zeros, nulls and no currencies', () => {
    expect(deriveOrdersView([])).toEqual({
      lifetimeCount: 0,
      lifetimeValueCents: {},
      openCount: 0,
      lastOrderId: null,
      lastStatus: null,
      lastOrderAt: null,
    });
    expect(NO_ORDERS).toEqual(deriveOrdersView([]));
  });

  test('counts, value per currency (paid and shipped only), open orders and the last order', () => {
    const orders = [
      order({ orderId: 1, status: 'created', amountCents: 500, createdAt: '2026-11-25T06:00:01.5Z' }),
      order({ orderId: 2, status: 'paid', amountCents: 1999, createdAt: '2026-11-25T06:00:02Z' }),
      order({
        orderId: 3,
        status: 'shipped',
        amountCents: 100,
        currency: 'USD',
        createdAt: '2026-11-25T05:00:00Z',
      }),
      order({ orderId: 4, status: 'shipped', amountCents: 1, createdAt: '2026-11-24T06:00:00Z' }),
      order({ orderId: 5, status: 'cancelled', amountCents: 7000, createdAt: '2026-11-25T06:00:01.999999Z' }),
      order({
        orderId: 6,
        status: 'refunded',
        amountCents: 300,
        currency: 'USD',
        createdAt: '2026-11-20T00:00:00Z',
      }),
      // deleted: counts nowhere, though it is the newest and paid
      order({
        orderId: 7,
        status: 'paid',
        amountCents: 90000,
        createdAt: '2026-11-26T00:00:00Z',
        deleted: true,
      }),
    ];
    expect(deriveOrdersView(orders)).toEqual({
      lifetimeCount: 6,
      lifetimeValueCents: { EUR: 2000, USD: 100 },
      openCount: 2,
      lastOrderId: 2,
      lastStatus: 'paid',
      lastOrderAt: '2026-11-25T06:00:02.000Z',
    });
  });

  test('the last order: created_at compared at full precision, ties to the greater id', () => {
    // "…01.5Z" sorts after "…01Z" as instants although not as strings
    expect(
      deriveOrdersView([
        order({ orderId: 9, createdAt: '2026-11-25T06:00:01Z' }),
        order({ orderId: 8, createdAt: '2026-11-25T06:00:01.000001Z' }),
      ]),
    ).toMatchObject({ lastOrderId: 8, lastOrderAt: '2026-11-25T06:00:01.000Z' });
    expect(
      deriveOrdersView([
        order({ orderId: 12, status: 'paid', createdAt: '2026-11-25T06:00:01.000Z' }),
        order({ orderId: 11, createdAt: '2026-11-25T06:00:01Z' }),
      ]),
    ).toMatchObject({ lastOrderId: 12, lastStatus: 'paid' });
    expect(
      deriveOrdersView([
        order({ orderId: 11, createdAt: '2026-11-25T06:00:01Z' }),
        order({ orderId: 12, status: 'paid', createdAt: '2026-11-25T06:00:01.000Z' }),
      ]),
    ).toMatchObject({ lastOrderId: 12, lastStatus: 'paid' });
  });

  test('instants: sort keys and millisecond times', () => {
    expect(instantSortKey('2026-11-25T06:33:57Z')).toBe('2026-11-25T06:33:57.000000000');
    expect(instantSortKey('2026-11-25T06:33:57.1234567891Z')).toBe('2026-11-25T06:33:57.123456789');
    expect(toMillisecondTime('2026-11-25T06:33:57.123999Z')).toBe('2026-11-25T06:33:57.123Z');
    expect(toMillisecondTime('2026-11-25T06:33:57.5Z')).toBe('2026-11-25T06:33:57.500Z');
    expect(() => instantSortKey('2026-11-25 06:33:57')).toThrow(
      'not an ISO-8601 UTC time: 2026-11-25 06:33:57',
    );
  });
});

const CHANGE: OrderChange = {
  id: 42,
  user_id: 'user-1',
  status: 'paid',
  amount_cents: 12990,
  currency: 'EUR',
  created_at: '2026-11-25T06:33:57.123456Z',
  updated_at: '2026-11-25T06:40:00.5Z',
  __op: 'u',
  __lsn: 36_028_797_018_963_968, // 2^55: beyond 2^53, exact as a double
  __source_ts_ms: 1795156800500,
  __deleted: 'false',
};
const POSITION = { topic: 'cdc', partition: 2, offset: 1234 };
const NOW = Date.parse('2026-11-25T07:00:00.000Z');
const DAY = 86_400;

describe('guarded order writes', () => {
  test('a change: the whole row, put only over an older lsn, no TTL', () => {
    expect(orderPut('enrich-state', CHANGE, POSITION, NOW, DAY)).toEqual({
      TableName: 'enrich-state',
      Item: {
        pk: { S: 'order#42' },
        sk: { S: 'order' },
        orderId: { N: '42' },
        userId: { S: 'user-1' },
        status: { S: 'paid' },
        amountCents: { N: '12990' },
        currency: { S: 'EUR' },
        createdAt: { S: '2026-11-25T06:33:57.123456Z' },
        updatedAt: { S: '2026-11-25T06:40:00.5Z' },
        lsn: { N: '36028797018963968' },
        deleted: { BOOL: false },
        sourcePartition: { N: '2' },
        sourceOffset: { N: '1234' },
      },
      ConditionExpression: 'attribute_not_exists(#pk) OR #lsn < :lsn',
      ExpressionAttributeNames: { '#pk': 'pk', '#lsn': 'lsn' },
      ExpressionAttributeValues: { ':lsn': { N: '36028797018963968' } },
    });
  });

  test('a delete: the last row values and the lsn kept, marked deleted, expiring after the horizon', () => {
    const put = orderPut(
      't',
      { ...CHANGE, __op: 'd', __deleted: 'true', __lsn: '123456789012345678901' },
      POSITION,
      NOW,
      DAY,
    );
    expect(put.Item).toMatchObject({
      status: { S: 'paid' },
      amountCents: { N: '12990' },
      lsn: { N: '123456789012345678901' },
      deleted: { BOOL: true },
      expiresAt: { N: String(Date.parse('2026-11-26T07:00:00.000Z') / 1000) },
    });
    expect(put.ConditionExpression).toBe('attribute_not_exists(#pk) OR #lsn < :lsn');
    expect(put.ExpressionAttributeValues).toEqual({ ':lsn': { N: '123456789012345678901' } });
  });

  test('a tombstone: marks an existing live order deleted, only after the change applied to it', () => {
    expect(tombstoneUpdate('t', 42, POSITION, NOW, DAY)).toEqual({
      TableName: 't',
      Key: { pk: { S: 'order#42' }, sk: { S: 'order' } },
      UpdateExpression: 'SET #deleted = :true, #expiresAt = :expiresAt, #offset = :offset',
      ConditionExpression:
        'attribute_exists(#pk) AND #deleted = :false AND #partition = :partition AND #offset < :offset',
      ExpressionAttributeNames: {
        '#pk': 'pk',
        '#deleted': 'deleted',
        '#expiresAt': 'expiresAt',
        '#partition': 'sourcePartition',
        '#offset': 'sourceOffset',
      },
      ExpressionAttributeValues: {
        ':true': { BOOL: true },
        ':false': { BOOL: false },
        ':expiresAt': { N: String(Date.parse('2026-11-26T07:00:00.000Z') / 1000) },
        ':partition': { N: '2' },
        ':offset': { N: '1234' },
      },
    });
  });

  test('the item written reads back as the order', () => {
    expect(orderStateFromItem(orderPut('t', CHANGE, POSITION, NOW, DAY).Item!)).toEqual({
      orderId: 42,
      userId: 'user-1',
      status: 'paid',
      amountCents: 12990,
      currency: 'EUR',
      createdAt: '2026-11-25T06:33:57.123456Z',
      deleted: false,
    });
  });

  test('lsn text: decimal digits of the number or the string as given', () => {
    expect(lsnText(0)).toBe('0');
    expect(lsnText(9_007_199_254_740_993n.toString())).toBe('9007199254740993');
    expect(lsnText(1e21)).toBe('1000000000000000000000');
  });
});

describe('the cdc.orders contract', () => {
  test('keys: {"id": n} only', () => {
    expect(parseOrderKey('{"id": 42}')).toBe(42);
    expect(parseOrderKey('{"id": "42"}')).toBeUndefined();
    expect(parseOrderKey('42')).toBeUndefined();
    expect(parseOrderKey('{"id"')).toBeUndefined();
    expect(parseOrderKey(null)).toBeUndefined();
  });

  test('values: the fields a change needs, each checked', () => {
    expect(z.safeParse(orderChangeV1, CHANGE).success).toBe(true);
    const bad = z.safeParse(orderChangeV1, {
      ...CHANGE,
      status: 'lost',
      currency: 'eur',
      __op: 'x',
      __lsn: -1,
      created_at: '2026-11-25T06:33:57+01:00',
    });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(
      ['__lsn', '__op', 'created_at', 'currency', 'status'].sort(),
    );
  });
});

describe('the events.enriched value', () => {
  const event = {
    eventId: '0b6f4a3e-8c2d-4f1a-9b7e-5d3c2a1f0e9d',
    userId: 'user-1',
    type: 'purchase',
    occurredAt: '2026-11-25T06:59:59.999Z',
    country: 'DE',
    properties: { amountCents: 12990, currency: 'EUR' },
    schemaVersion: 1 as const,
    appVersion: '3.1.0', // an unknown field: kept
  };

  test('the event unchanged, plus orders and enrichedAt, valid against the contract schema', () => {
    const view = {
      lifetimeCount: 1,
      lifetimeValueCents: { EUR: 12990 },
      openCount: 1,
      lastOrderId: 42,
      lastStatus: 'paid' as const,
      lastOrderAt: '2026-11-25T06:33:57.123Z',
    };
    const value = enrichedEvent(event, view, NOW);
    expect(JSON.parse(JSON.stringify(value))).toEqual({
      eventId: '0b6f4a3e-8c2d-4f1a-9b7e-5d3c2a1f0e9d',
      userId: 'user-1',
      type: 'purchase',
      occurredAt: '2026-11-25T06:59:59.999Z',
      country: 'DE',
      properties: { amountCents: 12990, currency: 'EUR' },
      schemaVersion: 1,
      appVersion: '3.1.0',
      orders: {
        lifetimeCount: 1,
        lifetimeValueCents: { EUR: 12990 },
        openCount: 1,
        lastOrderId: 42,
        lastStatus: 'paid',
        lastOrderAt: '2026-11-25T06:33:57.123Z',
      },
      enrichedAt: '2026-11-25T07:00:00.000Z',
    });
    expect(z.safeParse(enrichedEventV1, value).success).toBe(true);
  });

  test('the contract schema refuses an event without orders, and money under anything but a currency code', () => {
    expect(z.safeParse(enrichedEventV1, { ...event, enrichedAt: '2026-11-25T07:00:00.000Z' }).success).toBe(
      false,
    );
    const notCode = enrichedEvent(event, { ...NO_ORDERS, lifetimeValueCents: { total: 1 } }, NOW);
    expect(z.safeParse(enrichedEventV1, notCode).error!.issues.map((i) => i.path.join('.'))).toEqual([
      'orders.lifetimeValueCents.total',
    ]);
  });
});
