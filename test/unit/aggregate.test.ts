/**
 * The aggregate consumer's pure parts: window sizes, assignment and keys, dimension values, revenue
 * per currency, the late-event rule, and the merge of a window guarded by its high-water marks and
 * included offset intervals.
 */
import * as z from 'zod/mini';
import {
  aggregateRecord,
  includes,
  MAX_WINDOW_INTERVALS,
  mergeWindow,
  type BatchCoverage,
} from '../../lambda/aggregate/aggregate';
import { hllCount, hllCreate } from '../../lambda/aggregate/hyperloglog';
import { addInterval, closeGaps, newest, type Interval } from '../../lambda/aggregate/intervals';
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
  intervals: {},
  updatedAtMs: 0,
};

/** A batch of `partition` covering `[first, last]`, with these processed ranges. */
function batch(first: number, last: number, processed: Interval[] = [], partition = 0): BatchCoverage {
  return { partition: `${ENRICHED}:${partition}`, range: [first, last], processed };
}

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
      batch(10, 13),
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
    const first = mergeWindow(EMPTY, contributions, at, batch(5, 7))!;
    expect({ ...first, users: hllCount(first.users) }).toEqual({
      ref: REF,
      events: 3,
      users: 3,
      revenueCents: {},
      version: 1,
      marks: { [`${ENRICHED}:0`]: 7 },
      intervals: { [`${ENRICHED}:0`]: [[5, 7]] },
      updatedAtMs: at,
    });
    // The same records again (a redelivery): nothing to write.
    expect(mergeWindow(first, contributions, at + 1, batch(5, 7))).toBeUndefined();
    // A split redelivery with one new record: only the new one counts.
    const r8 = record(8, event({ userId: 'u-5', type: 'purchase' }));
    const second = mergeWindow(
      first,
      [...contributions.slice(1), { record: r8, event: r8.value! }],
      at + 2,
      batch(6, 8),
    )!;
    expect({ events: second.events, users: hllCount(second.users), version: second.version }).toEqual({
      events: 4,
      users: 3,
      version: 2,
    });
    expect(second.marks).toEqual({ [`${ENRICHED}:0`]: 8 });
    expect(second.intervals).toEqual({ [`${ENRICHED}:0`]: [[5, 8]] });
  });

  test('marks are per partition: another partition at a lower offset still counts', () => {
    const first = mergeWindow(EMPTY, contributions, at, batch(5, 7))!;
    const other = record(2, event({ userId: 'u-9', type: 'purchase' }), 1);
    const next = mergeWindow(first, [{ record: other, event: other.value! }], at, batch(0, 2, [], 1))!;
    expect(next.events).toBe(4);
    expect(next.marks).toEqual({ [`${ENRICHED}:0`]: 7, [`${ENRICHED}:1`]: 2 });
    expect(next.intervals).toEqual({ [`${ENRICHED}:0`]: [[5, 7]], [`${ENRICHED}:1`]: [[0, 2]] });
  });

  test('a record first seen at a position the window includes counts once (an on-failure replay)', () => {
    const first = mergeWindow(EMPTY, contributions, at, batch(0, 9))!;
    const replayed = record(40, contributions[1]!.event, 2);
    const earlier = [{ topic: ENRICHED, partition: 0, offset: 6 }];
    expect(includes(first, replayed, earlier)).toBe(true);
    expect(
      mergeWindow(first, [{ record: replayed, event: replayed.value!, earlier }], at, batch(40, 40, [], 2)),
    ).toBeUndefined();
    // First seen at a position the window does not include yet: it counts.
    const unseen = { topic: ENRICHED, partition: 0, offset: 10 };
    expect(includes(first, replayed, [unseen])).toBe(false);
    expect(
      mergeWindow(
        first,
        [{ record: replayed, event: replayed.value!, earlier: [unseen] }],
        at,
        batch(40, 40, [], 2),
      )!.events,
    ).toBe(4);
  });

  test('a batch skipped to the on-failure destination and replayed after later batches wrote the window counts once', () => {
    // P0:[0..99] holds E at 10; its window write kept failing and the batch went to dlq.
    // P0:[100..199] (fully processed batches before it: none) writes the window: mark 199.
    const later = record(199, event({ userId: 'u-2', type: 'purchase' }));
    const afterLater = mergeWindow(EMPTY, [{ record: later, event: later.value! }], at, batch(100, 199))!;
    expect(afterLater.marks).toEqual({ [`${ENRICHED}:0`]: 199 });
    // The replay puts E at P0:1010, its claim taken over from P0:10; [200..999] were processed.
    const replayed = record(1010, event({ userId: 'u-1', type: 'purchase' }));
    const earlier = [{ topic: ENRICHED, partition: 0, offset: 10 }];
    expect(includes(afterLater, replayed, earlier)).toBe(false);
    const replay = { record: replayed, event: replayed.value!, earlier };
    const counted = mergeWindow(afterLater, [replay], at + 1, batch(1000, 1099, [[100, 999]]))!;
    expect({ events: counted.events, users: hllCount(counted.users), version: counted.version }).toEqual({
      events: 2,
      users: 2,
      version: 2,
    });
    expect(afterLater.intervals).toEqual({ [`${ENRICHED}:0`]: [[100, 199]] });
    // The gap [200..999] lies in processed batches: closed. [0..99] never completed: not included.
    expect(counted.intervals).toEqual({ [`${ENRICHED}:0`]: [[100, 1099]] });
    // The replay redelivered, or replayed again (its claim taken over once more): nothing to write.
    expect(mergeWindow(counted, [replay], at + 2, batch(1000, 1099, [[100, 999]]))).toBeUndefined();
    const again = record(2000, replayed.value!);
    const twice = [...earlier, { topic: ENRICHED, partition: 0, offset: 1010 }];
    expect(
      mergeWindow(
        counted,
        [{ record: again, event: again.value!, earlier: twice }],
        at + 3,
        batch(2000, 2000, [[100, 1999]]),
      ),
    ).toBeUndefined();
  });

  test('a batch that wrote the window before it was skipped keeps its interval: its replay counts nowhere again', () => {
    // P0:[0..99] wrote this window (E at 10), then failed on another window and went to dlq.
    const e = record(10, event({ userId: 'u-1', type: 'purchase' }));
    const partly = mergeWindow(EMPTY, [{ record: e, event: e.value! }], at, batch(0, 99))!;
    const later = record(150, event({ userId: 'u-2', type: 'purchase' }));
    const afterLater = mergeWindow(partly, [{ record: later, event: later.value! }], at, batch(100, 199))!;
    // [0..99] is not processed: the gap (none here, adjacent) is merged, not closed by progress.
    expect(afterLater.intervals).toEqual({ [`${ENRICHED}:0`]: [[0, 199]] });
    const replayed = record(1010, e.value!);
    const earlier = [{ topic: ENRICHED, partition: 0, offset: 10 }];
    expect(
      mergeWindow(afterLater, [{ record: replayed, event: replayed.value!, earlier }], at, batch(1000, 1099)),
    ).toBeUndefined();
  });
});

describe('offset intervals', () => {
  test('added intervals are sorted, overlapping and adjacent ones merged', () => {
    expect(addInterval([], [5, 7])).toEqual([[5, 7]]);
    expect(addInterval([[5, 7]], [8, 9])).toEqual([[5, 9]]);
    expect(addInterval([[5, 7]], [0, 3])).toEqual([
      [0, 3],
      [5, 7],
    ]);
    expect(
      addInterval(
        [
          [0, 3],
          [10, 12],
        ],
        [2, 10],
      ),
    ).toEqual([[0, 12]]);
  });

  test('a gap is closed only when it lies entirely inside one processed range', () => {
    const intervals: Interval[] = [
      [0, 99],
      [200, 299],
      [500, 599],
    ];
    // [100..199] processed, [300..499] only in part (a batch [400..449] never completed).
    const processed: Interval[] = [
      [0, 399],
      [450, 599],
    ];
    expect(closeGaps(intervals, processed)).toEqual([
      [0, 299],
      [500, 599],
    ]);
    expect(closeGaps(intervals, [])).toEqual(intervals);
  });

  test('lists keep their newest entries: a window keeps at most MAX_WINDOW_INTERVALS per partition', () => {
    const at = Date.parse('2026-11-25T06:40:00.000Z');
    expect(
      newest(
        [
          [0, 1],
          [3, 4],
          [6, 7],
        ],
        2,
      ),
    ).toEqual([
      [3, 4],
      [6, 7],
    ]);
    let state = EMPTY;
    for (let i = 0; i <= MAX_WINDOW_INTERVALS; i++) {
      const r = record(i * 10, event({ userId: `u-${i}`, type: 'purchase' }));
      state = mergeWindow(state, [{ record: r, event: r.value! }], at, batch(i * 10, i * 10))!;
    }
    const kept = state.intervals[`${ENRICHED}:0`]!;
    expect(kept.length).toBe(MAX_WINDOW_INTERVALS);
    expect(kept[0]).toEqual([10, 10]);
    expect(kept[kept.length - 1]).toEqual([MAX_WINDOW_INTERVALS * 10, MAX_WINDOW_INTERVALS * 10]);
  });
});
