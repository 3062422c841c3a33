/**
 * The aggregate consumer's pure parts: window sizes, assignment and keys, dimension values, revenue
 * per currency, the late-event rule, and the merge of a window guarded by its high-water marks.
 */
import * as z from 'zod/mini';
import { aggregateRecord, includes, mergeWindow } from '../../lambda/aggregate/aggregate';
import { hllCount, hllCreate } from '../../lambda/aggregate/hyperloglog';
import type { WindowState } from '../../lambda/aggregate/window-store';
import {
  isClosed,
  parseDimensions,
  parseWindowSize,
  parseWindowSizes,
  revenueOf,
  windowsOf,
  type WindowRef,
} from '../../lambda/aggregate/windows';
import type { SourceRecord } from '../../lambda/shared/consumer/types';
import { aggregateRecordV1 } from '../../lambda/shared/contract/aggregate';
import type { EnrichedEvent } from '../../lambda/shared/contract/enriched-event';
import { topicName } from '../../lib/topics/topic-specs';

const ENRICHED = topicName('eventsEnriched');
const MINUTE = parseWindowSize('PT1M');
const HOUR = parseWindowSize('PT1H');

function event(overrides: Partial<EnrichedEvent> = {}): EnrichedEvent {
  return {
    eventId: '6f1c2d3e-4a5b-4c6d-8e7f-001122334455',
    userId: 'u-1',
    type: 'page_view',
    occurredAt: '2026-11-25T06:33:57.123Z',
    country: 'DE',
    schemaVersion: 1,
    orders: {
      lifetimeCount: 0,
      lifetimeValueCents: {},
      openCount: 0,
      lastOrderId: null,
      lastStatus: null,
      lastOrderAt: null,
    },
    enrichedAt: '2026-11-25T06:33:58.000Z',
    ...overrides,
  };
}

function record(offset: number, value: EnrichedEvent, partition = 0): SourceRecord<EnrichedEvent> {
  return { topic: ENRICHED, partition, offset, timestamp: 0, key: value.userId, value, headers: {} };
}

const REF: WindowRef = {
  windowKey: 'PT1H|2026-11-25T06:00:00.000Z|type|purchase',
  windowSize: 'PT1H',
  windowStartMs: Date.parse('2026-11-25T06:00:00.000Z'),
  windowEndMs: Date.parse('2026-11-25T07:00:00.000Z'),
  dimension: 'type',
  value: 'purchase',
};

const EMPTY: WindowState = {
  ref: REF,
  events: 0,
  users: hllCreate(),
  revenueCents: {},
  version: 0,
  marks: {},
  updatedAtMs: 0,
};

describe('window sizes and dimensions', () => {
  test.each([
    ['PT1M', 60_000],
    ['PT1H', 3_600_000],
    ['PT30S', 30_000],
    ['PT1H30M', 5_400_000],
    ['P1D', 86_400_000],
  ])('%s is %i ms', (iso, ms) => {
    expect(parseWindowSize(iso)).toEqual({ iso, ms });
  });

  test.each(['P1M', 'P1Y', 'P1W', 'PT', 'P', 'PT0S', '1H', 'pt1m'])('%s is refused', (iso) => {
    expect(() => parseWindowSize(iso)).toThrow(`window size ${JSON.stringify(iso)}: `);
  });

  test('WINDOWS and DIMENSIONS lists', () => {
    expect(parseWindowSizes(' PT1M, PT1H ')).toEqual([MINUTE, HOUR]);
    expect(() => parseWindowSizes('PT1M,PT1M')).toThrow('window size PT1M is listed twice');
    expect(() => parseWindowSizes(' , ')).toThrow('at least one window size is needed');
    expect(parseDimensions('type, country')).toEqual(['type', 'country']);
    expect(() => parseDimensions('type,type')).toThrow('a dimension is listed twice: type,type');
    expect(() => parseDimensions('')).toThrow('at least one dimension is needed');
  });
});

describe('window assignment', () => {
  test('every size and dimension, aligned to the epoch in UTC, with the contract key', () => {
    const e = event({ type: 'purchase' });
    expect(windowsOf(e, Date.parse(e.occurredAt), [MINUTE, HOUR], ['type', 'country'])).toEqual([
      {
        windowKey: 'PT1M|2026-11-25T06:33:00.000Z|type|purchase',
        windowSize: 'PT1M',
        windowStartMs: Date.parse('2026-11-25T06:33:00.000Z'),
        windowEndMs: Date.parse('2026-11-25T06:34:00.000Z'),
        dimension: 'type',
        value: 'purchase',
      },
      {
        windowKey: 'PT1M|2026-11-25T06:33:00.000Z|country|DE',
        windowSize: 'PT1M',
        windowStartMs: Date.parse('2026-11-25T06:33:00.000Z'),
        windowEndMs: Date.parse('2026-11-25T06:34:00.000Z'),
        dimension: 'country',
        value: 'DE',
      },
      { ...REF },
      {
        windowKey: 'PT1H|2026-11-25T06:00:00.000Z|country|DE',
        windowSize: 'PT1H',
        windowStartMs: Date.parse('2026-11-25T06:00:00.000Z'),
        windowEndMs: Date.parse('2026-11-25T07:00:00.000Z'),
        dimension: 'country',
        value: 'DE',
      },
    ]);
  });

  test('a window holds its start and not its end; a missing field counts under unknown', () => {
    const withoutCountry: Record<string, unknown> = { ...event() };
    delete withoutCountry.country;
    const keys = (occurredAt: string): string[] =>
      windowsOf({ ...withoutCountry, occurredAt }, Date.parse(occurredAt), [MINUTE], ['country']).map(
        (r) => r.windowKey,
      );
    expect(keys('2026-11-25T06:33:00.000Z')).toEqual(['PT1M|2026-11-25T06:33:00.000Z|country|unknown']);
    expect(keys('2026-11-25T06:33:59.999Z')).toEqual(['PT1M|2026-11-25T06:33:00.000Z|country|unknown']);
    expect(keys('2026-11-25T06:34:00.000Z')).toEqual(['PT1M|2026-11-25T06:34:00.000Z|country|unknown']);
  });
});

describe('revenue', () => {
  test('a purchase with amountCents and currency adds to its currency', () => {
    expect(
      revenueOf(event({ type: 'purchase', properties: { amountCents: 129900, currency: 'EUR' } })),
    ).toEqual({
      currency: 'EUR',
      amountCents: 129900,
    });
  });

  test.each([
    ['no currency', { type: 'purchase', properties: { amountCents: 100 } }],
    ['no amount', { type: 'purchase', properties: { currency: 'EUR' } }],
    ['no properties', { type: 'purchase' }],
    ['an amount as a string', { type: 'purchase', properties: { amountCents: '100', currency: 'EUR' } }],
    ['a fractional amount', { type: 'purchase', properties: { amountCents: 1.5, currency: 'EUR' } }],
    ['a negative amount', { type: 'purchase', properties: { amountCents: -100, currency: 'EUR' } }],
    ['a lowercase currency', { type: 'purchase', properties: { amountCents: 100, currency: 'eur' } }],
    ['not a purchase', { type: 'add_to_cart', properties: { amountCents: 100, currency: 'EUR' } }],
  ])('%s adds nothing', (_name, overrides) => {
    expect(revenueOf(event(overrides as Partial<EnrichedEvent>))).toBeUndefined();
  });

  test('currencies are summed apart, never together', () => {
    const purchase = (offset: number, userId: string, amountCents: number, currency: string) =>
      record(offset, event({ userId, type: 'purchase', properties: { amountCents, currency } }));
    const next = mergeWindow(
      EMPTY,
      [
        { record: purchase(10, 'u-1', 1000, 'EUR'), event: purchase(10, 'u-1', 1000, 'EUR').value! },
        { record: purchase(11, 'u-2', 250, 'USD'), event: purchase(11, 'u-2', 250, 'USD').value! },
        { record: purchase(12, 'u-1', 99, 'EUR'), event: purchase(12, 'u-1', 99, 'EUR').value! },
        { record: purchase(13, 'u-3', 5000, 'JPY'), event: purchase(13, 'u-3', 5000, 'JPY').value! },
      ],
      Date.parse('2026-11-25T06:40:00.000Z'),
    )!;
    expect(next.revenueCents).toEqual({ EUR: 1099, USD: 250, JPY: 5000 });
    expect(aggregateRecord(next)).toEqual({
      windowKey: 'PT1H|2026-11-25T06:00:00.000Z|type|purchase',
      windowSize: 'PT1H',
      windowStart: '2026-11-25T06:00:00.000Z',
      windowEnd: '2026-11-25T07:00:00.000Z',
      dimension: 'type',
      value: 'purchase',
      events: 4,
      users: 3,
      revenueCents: { EUR: 1099, USD: 250, JPY: 5000 },
      updatedAt: '2026-11-25T06:40:00.000Z',
      version: 1,
    });
    expect(z.safeParse(aggregateRecordV1, aggregateRecord(next)).success).toBe(true);
  });
});

describe('late events', () => {
  const end = Date.parse('2026-11-25T07:00:00.000Z');
  test('a window accepts events until windowEnd + allowed lateness (processing time), inclusive', () => {
    expect(isClosed(end, end + 300_000, 300_000)).toBe(false);
    expect(isClosed(end, end + 300_001, 300_000)).toBe(true);
    expect(isClosed(end, end - 1, 0)).toBe(false);
    expect(isClosed(end, end, 0)).toBe(false);
    expect(isClosed(end, end + 1, 0)).toBe(true);
  });
});

describe('high-water marks', () => {
  const contributions = [5, 6, 7].map((offset) => {
    const r = record(offset, event({ userId: `u-${offset}`, type: 'purchase' }));
    return { record: r, event: r.value! };
  });
  const at = Date.parse('2026-11-25T06:40:00.000Z');

  test('a merge counts the records above the mark, moves the mark and the version', () => {
    const first = mergeWindow(EMPTY, contributions, at)!;
    expect({ ...first, users: hllCount(first.users) }).toEqual({
      ref: REF,
      events: 3,
      users: 3,
      revenueCents: {},
      version: 1,
      marks: { [`${ENRICHED}:0`]: 7 },
      updatedAtMs: at,
    });
    // The same records again (a redelivery): nothing to write.
    expect(mergeWindow(first, contributions, at + 1)).toBeUndefined();
    // A split redelivery with one new record: only the new one counts.
    const r8 = record(8, event({ userId: 'u-5', type: 'purchase' }));
    const second = mergeWindow(first, [...contributions.slice(1), { record: r8, event: r8.value! }], at + 2)!;
    expect({ events: second.events, users: hllCount(second.users), version: second.version }).toEqual({
      events: 4,
      users: 3,
      version: 2,
    });
    expect(second.marks).toEqual({ [`${ENRICHED}:0`]: 8 });
  });

  test('marks are per partition: another partition at a lower offset still counts', () => {
    const first = mergeWindow(EMPTY, contributions, at)!;
    const other = record(2, event({ userId: 'u-9', type: 'purchase' }), 1);
    const next = mergeWindow(first, [{ record: other, event: other.value! }], at)!;
    expect(next.events).toBe(4);
    expect(next.marks).toEqual({ [`${ENRICHED}:0`]: 7, [`${ENRICHED}:1`]: 2 });
  });

  test('a record first seen at a position the window includes counts once (an on-failure replay)', () => {
    const first = mergeWindow(EMPTY, contributions, at)!;
    const replayed = record(40, contributions[1]!.event, 2);
    const earlier = [{ topic: ENRICHED, partition: 0, offset: 6 }];
    expect(includes(first, replayed, earlier)).toBe(true);
    expect(mergeWindow(first, [{ record: replayed, event: replayed.value!, earlier }], at)).toBeUndefined();
    // First seen at a position the window does not include yet: it counts.
    const unseen = { topic: ENRICHED, partition: 0, offset: 9 };
    expect(includes(first, replayed, [unseen])).toBe(false);
    expect(
      mergeWindow(first, [{ record: replayed, event: replayed.value!, earlier: [unseen] }], at)!.events,
    ).toBe(4);
  });
});
