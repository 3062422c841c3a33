/**
 * The aggregate consumer (docs/events-path.md, "aggregate" and "Exactly-once effects"): tumbling
 * windows per dimension over events.enriched, kept in DynamoDB with per-partition high-water marks,
 * included offset intervals and optimistic concurrency, written whole to OpenSearch and to
 * events.aggregates.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { forEachLimited } from '../shared/consumer/concurrency';
import { decideClaims, markApplied } from '../shared/consumer/dedupe';
import type { AggregateRecord } from '../shared/contract/aggregate';
import { MAX_PROPERTIES_BYTES } from '../shared/contract/app-event';
import { enrichedEventV1, type EnrichedEvent } from '../shared/contract/enriched-event';
import type {
  ConsumerDefinition,
  PartitionContext,
  RecordPosition,
  SourceRecord,
} from '../shared/consumer/types';
import { indexName } from '../shared/search/index-name';
import { hllAdd, hllCount, hllCreate } from './hyperloglog';
import { addInterval, closeGaps, intervalsContain, newest, type Interval } from './intervals';
import { indexWindows, type SearchTransport } from './search-sink';
import { markKey, ProgressStore, WindowStore, type WindowState } from './window-store';
import { addRevenue, isClosed, revenueOf, windowsOf, type WindowRef, type WindowSize } from './windows';

export interface AggregateConsumerOptions {
  readonly enrichedTopic: string;
  readonly aggregatesTopic: string;
  readonly deadLetterTopic: string;
  /** Larger events.enriched values are dead-lettered as `too_large`. @default ENRICHED_MAX_VALUE_BYTES */
  readonly maxValueBytes?: number;
  /** The aggregate state table: window items and dedupe claims. */
  readonly table: string;
  readonly dynamo: DynamoDBClient;
  /** How long an eventId is remembered: a duplicate later than this counts again. */
  readonly dedupeHorizonSeconds: number;
  /** After this long a claim that was never applied is taken over (at least the function timeout). */
  readonly claimLeaseSeconds: number;
  readonly search: SearchTransport;
  /** Index names are `<prefix>-<size>-<yyyy.mm>` (../shared/search/index-name.ts). */
  readonly indexPrefix: string;
  readonly windows: readonly WindowSize[];
  readonly dimensions: readonly string[];
  readonly allowedLatenessSeconds: number;
  /** Conditional-write attempts per window before the partition fails transiently. @default 20 */
  readonly maxWriteAttempts?: number;
  /** Windows updated at once within one partition. @default 16 */
  readonly writeConcurrency?: number;
  /** The clock (epoch ms). @default the runtime's clock (PartitionContext.now) */
  readonly now?: () => number;
}

/** The consumer's name: the `dlq.consumer` header, the claims' sort key, the metrics dimension. */
export const AGGREGATE_CONSUMER = 'aggregate';

/**
 * The largest events.enriched value of the contract: an app event (at most 16 KiB of `properties`
 * plus its other fields, as enrich accepts it) with the orders view and `enrichedAt`, with room to spare.
 */
export const ENRICHED_MAX_VALUE_BYTES = MAX_PROPERTIES_BYTES + 12 * 1024;

/** Seconds a window item is kept after `windowEnd + allowed lateness`. */
export const WINDOW_RETENTION_AFTER_CLOSE_SECONDS = 86_400;

/** A transient failure: the runtime backs off and calls `apply` again with the same records. */
export class TransientAggregateError extends Error {
  override readonly name = 'TransientAggregateError';
}

/** A record's part in one window. */
interface Contribution {
  readonly record: SourceRecord<EnrichedEvent>;
  readonly event: EnrichedEvent;
  /** Positions of earlier attempts of this event whose claims were taken over (dedupe.ts). */
  readonly earlier?: readonly RecordPosition[];
}

/** What a merge adds to a window's intervals of the batch's partition. */
export interface BatchCoverage {
  /** The batch's source `topic:partition` (markKey). */
  readonly partition: string;
  /** The batch's offsets whose records of the window the merged state includes. */
  readonly range: Interval;
  /** The partition's fully processed batch ranges (its progress item). */
  readonly processed: readonly Interval[];
}

/**
 * At most this many intervals are kept per window and source partition: each gap between two is a
 * batch that never completed (or whose records were all dead-lettered) within the window's life.
 * Beyond it the oldest are forgotten, and an event of those ranges replayed later counts again.
 */
export const MAX_WINDOW_INTERVALS = 32;

interface WindowGroup {
  readonly ref: WindowRef;
  readonly contributions: Contribution[];
}

/** The contract's record for a window state. */
export function aggregateRecord(state: WindowState): AggregateRecord {
  const { ref } = state;
  return {
    windowKey: ref.windowKey,
    windowSize: ref.windowSize,
    windowStart: new Date(ref.windowStartMs).toISOString(),
    windowEnd: new Date(ref.windowEndMs).toISOString(),
    dimension: ref.dimension,
    value: ref.value,
    events: state.events,
    users: hllCount(state.users),
    revenueCents: { ...state.revenueCents },
    updatedAt: new Date(state.updatedAtMs).toISOString(),
    version: state.version,
  };
}

/**
 * Whether a window state already includes a record: at its own position by the partition's mark (a
 * partition is processed in order and stops at its first transient failure, so the mark is exact
 * for the current delivery), or at the position of an earlier attempt of the same event whose claim
 * was taken over by the partition's intervals (that attempt's batch may have been skipped to the
 * on-failure destination, and later batches may have moved the mark past it).
 */
export function includes(
  state: WindowState,
  record: RecordPosition,
  earlier: readonly RecordPosition[] = [],
): boolean {
  const mark = state.marks[markKey(record.topic, record.partition)];
  if (mark !== undefined && mark >= record.offset) return true;
  return earlier.some((p) =>
    intervalsContain(state.intervals[markKey(p.topic, p.partition)] ?? [], p.offset),
  );
}

/**
 * The next state of a window: the contributions it does not include yet merged in, the marks
 * moved, the batch's range added to its partition's intervals (gaps inside processed ranges
 * closed), the version + 1. Undefined when it includes them all already.
 */
export function mergeWindow(
  state: WindowState,
  contributions: readonly Contribution[],
  nowMs: number,
  coverage: BatchCoverage,
): WindowState | undefined {
  const fresh = contributions.filter((c) => !includes(state, c.record, c.earlier));
  if (fresh.length === 0) return undefined;
  const users = hllCreate(state.users);
  const revenueCents = { ...state.revenueCents };
  const marks = { ...state.marks };
  for (const { record, event } of fresh) {
    hllAdd(users, event.userId);
    const revenue = revenueOf(event);
    if (revenue) addRevenue(revenueCents, revenue.currency, revenue.amountCents);
    const key = markKey(record.topic, record.partition);
    marks[key] = Math.max(marks[key] ?? -1, record.offset);
  }
  const added = addInterval(state.intervals[coverage.partition] ?? [], coverage.range);
  return {
    ref: state.ref,
    events: state.events + fresh.length,
    users,
    revenueCents,
    version: state.version + 1,
    marks,
    intervals: {
      ...state.intervals,
      [coverage.partition]: newest(closeGaps(added, coverage.processed), MAX_WINDOW_INTERVALS),
    },
    updatedAtMs: nowMs,
  };
}

export function createAggregateConsumer(options: AggregateConsumerOptions): ConsumerDefinition {
  const store = new WindowStore(
    options.dynamo,
    options.table,
    options.allowedLatenessSeconds + WINDOW_RETENTION_AFTER_CLOSE_SECONDS,
  );
  const progress = new ProgressStore(options.dynamo, options.table, AGGREGATE_CONSUMER);
  const latenessMs = options.allowedLatenessSeconds * 1000;
  const maxWriteAttempts = options.maxWriteAttempts ?? 20;
  const writeConcurrency = options.writeConcurrency ?? 16;

  /** Brings one window up to date with its contributions; returns its state after (version 0: none). */
  async function update(group: WindowGroup, nowMs: number, coverage: BatchCoverage): Promise<WindowState> {
    for (let attempt = 1; attempt <= maxWriteAttempts; attempt++) {
      const state = await store.read(group.ref);
      const next = mergeWindow(state, group.contributions, nowMs, coverage);
      if (!next) return state;
      if (await store.write(next)) return next;
      // Another partition wrote the window since the read: read it again and merge what is still missing.
    }
    throw new TransientAggregateError(
      `window ${group.ref.windowKey}: still contended after ${maxWriteAttempts} conditional writes`,
    );
  }

  /**
   * Produces the windows' records, then reads the windows again (consistently) and produces again
   * each one whose stored version is higher than the one produced, until the reads show the versions
   * produced. So the last record of a key in the log is its highest version vN: vN's writer produces
   * it after its write; a record appended after that one is followed by its producer's read, which
   * comes after vN's write and sees vN (versions only grow), and a lower record is followed by vN
   * again. (An invocation that dies between a produce and its read is retried, or replayed, and
   * emits again.)
   */
  async function produceLatest(states: readonly WindowState[], context: PartitionContext): Promise<number> {
    let pending = [...states];
    let produced = 0;
    for (let round = 1; pending.length > 0; round++) {
      if (round > maxWriteAttempts)
        throw new TransientAggregateError(
          `window ${pending[0]!.ref.windowKey}: still changing after ${maxWriteAttempts} produces`,
        );
      const records = pending.map(aggregateRecord);
      await context.produce(
        options.aggregatesTopic,
        records.map((record) => ({ key: record.windowKey, value: JSON.stringify(record) })),
      );
      produced += records.length;
      const current = await store.readMany(pending.map((s) => s.ref));
      pending = current.filter((s, i) => s.version > pending[i]!.version);
    }
    return produced;
  }

  async function apply(records: readonly SourceRecord<unknown>[], context: PartitionContext): Promise<void> {
    const valid = records.filter((r): r is SourceRecord<EnrichedEvent> => r.value !== null);
    if (valid.length === 0) return;
    const nowMs = options.now ? options.now() : context.now();
    const { topic, partition } = valid[0]!;
    const requests = valid.map((r) => ({
      eventId: r.value!.eventId,
      position: { topic: r.topic, partition: r.partition, offset: r.offset },
    }));
    const [decisions, processed] = await Promise.all([
      decideClaims(
        options.dynamo,
        {
          table: options.table,
          consumer: AGGREGATE_CONSUMER,
          horizonSeconds: options.dedupeHorizonSeconds,
          leaseSeconds: options.claimLeaseSeconds,
          now: nowMs,
        },
        requests,
      ),
      progress.read(topic, partition),
    ]);
    // A partition stops at its first transient failure: nothing from an in-flight event on.
    const stop = decisions.findIndex((d) => d.kind === 'in_flight');
    const usable = stop < 0 ? valid : valid.slice(0, stop);
    // The windows written include every record of theirs in the batch's range, up to the stop.
    const coverage: BatchCoverage = {
      partition: markKey(topic, partition),
      range: [context.range.first, stop < 0 ? context.range.last : valid[stop]!.offset - 1],
      processed: processed.ranges,
    };

    // Every window of every usable record, with the contributions of the records to count.
    const groups = new Map<string, WindowGroup>();
    const applied: number[] = [];
    let late = 0;
    usable.forEach((record, i) => {
      const decision = decisions[i]!;
      const event = record.value!;
      if (decision.kind === 'proceed') applied.push(i);
      const refs = windowsOf(event, Date.parse(event.occurredAt), options.windows, options.dimensions);
      for (const ref of refs) {
        let group = groups.get(ref.windowKey);
        if (!group) {
          group = { ref, contributions: [] };
          groups.set(ref.windowKey, group);
        }
        // A closed window takes nothing more, but its stored state is emitted again (a retry or a
        // replay after it closed may find it committed and not yet indexed or produced).
        if (isClosed(ref.windowEndMs, nowMs, latenessMs)) {
          if (decision.kind === 'proceed') late++;
          continue;
        }
        if (decision.kind === 'proceed')
          group.contributions.push({
            record,
            event,
            ...(decision.earlier ? { earlier: decision.earlier } : {}),
          });
      }
    });
    if (late > 0) context.count('LateEvents', late);

    // One conditional write per window (re-read and merged again on a conflict).
    const states: WindowState[] = [];
    await forEachLimited([...groups.values()], writeConcurrency, async (group) => {
      states.push(await update(group, nowMs, coverage));
    });
    if (applied.length > 0) {
      const lost = await markApplied(
        options.dynamo,
        { table: options.table, consumer: AGGREGATE_CONSUMER },
        applied.map((i) => requests[i]!),
      );
      // Claims taken over by another copy after the lease (this attempt outlived it).
      if (lost.length > 0) context.count('ClaimsLost', lost.length);
    }

    // The outputs of every changed or re-seen window, whole, with its current version, until its
    // item expires.
    const nowSeconds = Math.floor(nowMs / 1000);
    const emitted = states
      .filter((s) => s.version > 0 && store.expiresAt(s.ref) >= nowSeconds)
      .sort((a, b) => (a.ref.windowKey < b.ref.windowKey ? -1 : a.ref.windowKey > b.ref.windowKey ? 1 : 0));
    await indexWindows(
      options.search,
      emitted.map((state) => {
        const record = aggregateRecord(state);
        return { index: indexName(options.indexPrefix, record.windowSize, record.windowStart), record };
      }),
    );
    if (emitted.length > 0) context.count('WindowsEmitted', await produceLatest(emitted, context));
    context.count('EventsCounted', applied.length);
    // Already counted from another offset (a producer's retry, a replay): skipped. A redelivery of
    // the same offset proceeds, and the windows' offset marks keep it out of their counts.
    if (usable.length > applied.length) context.count('DuplicateEvents', usable.length - applied.length);

    // Every record of the batch is applied or dead-lettered: its range is processed.
    if (stop < 0) await progress.append(topic, partition, [context.range.first, context.range.last]);
    else
      throw new TransientAggregateError(
        `event ${valid[stop]!.value!.eventId} at offset ${valid[stop]!.offset} is being processed elsewhere`,
      );
  }

  return {
    name: AGGREGATE_CONSUMER,
    sources: {
      [options.enrichedTopic]: {
        schema: enrichedEventV1,
        maxValueBytes: options.maxValueBytes ?? ENRICHED_MAX_VALUE_BYTES,
        tombstones: false,
      },
    },
    deadLetterTopic: options.deadLetterTopic,
    apply,
  };
}
