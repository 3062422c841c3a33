/**
 * `dlq replay <consumer>`: reads the consumer's dead-letter topic and sends each record back to its
 * source topic (dlq-shapes.ts tells the shapes apart), at most `rate` records per second (a token
 * bucket), at most `max` dead-letter records per run, refusing any record whose source is not one of
 * the dead-letter topic's `sources` in the catalog.
 *
 * Delivery: AT LEAST ONCE. Progress is the committed offset of the replay's own consumer group,
 * `ops-replay-<dead-letter topic>`, committed only after the broker acknowledged (acks=all, the
 * platform's idempotent producer) every record sent for the dead-letter records before it. A run that
 * stops between a send and its commit sends those records again when resumed: byte-identical copies
 * (same key, value and headers, so the same eventId / order lsn / (deviceId, ts) / alertId /
 * windowKey+version), which every consumer already drops as duplicates (docs/ops-cli.md).
 *
 * A run replays what the dead-letter topic held when it started (the end offsets read then): records
 * dead-lettered again while it runs wait for the next run instead of looping.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage, Producer, TopicMessages } from 'kafkajs';
import { createProducer, PRODUCE_ACKS } from '../../lambda/shared/kafka-client';
import {
  deadLetterSources,
  TOPIC_IDS,
  TOPIC_SPECS,
  topicName,
  type TopicId,
} from '../../lib/topics/topic-specs';
import { headerList, kafkajsHeaders, planReplay, type DeadLetterRecord, type ReplayPlan } from './dlq-shapes';
import { SYSTEM_CLOCK, TokenBucket, type Clock } from './token-bucket';

/** The replay's consumer group for a dead-letter topic. */
export function replayGroupId(deadLetterTopic: string): string {
  return `ops-replay-${deadLetterTopic}`;
}

/** The dead-letter topic of a dead-letter owner and the topics it may send back to. */
export function deadLetterRoute(consumer: string): { topic: string; sources: readonly string[] } {
  const id = TOPIC_IDS.find((t) => (TOPIC_SPECS[t] as { deadLetterFor?: string }).deadLetterFor === consumer);
  if (!id) throw new Error(`no dead-letter topic in the catalog for "${consumer}"`);
  return { topic: topicName(id), sources: deadLetterSources(id).map((s: TopicId) => topicName(s)) };
}

/** Most records sent in one produce request. */
const MAX_CHUNK = 500;

export interface ReplayOptions {
  readonly kafka: Kafka;
  /** A dead-letter owner (`deadLetterFor`): enrich, aggregate, sessionize, alerting, snowflake-sink. */
  readonly consumer: string;
  /** Records per second, on average; bursts of one second's worth. */
  readonly rate: number;
  /** Dead-letter records handled (replayed, refused or unrecognised) in this run, at most. */
  readonly max?: number;
  /** Print what would be sent; send nothing, commit nothing. */
  readonly dryRun: boolean;
  readonly out: (line: string) => void;
  /** @default the system clock */
  readonly clock?: Clock;
  /**
   * Called after a chunk was sent and acknowledged, before its offsets are committed, with the
   * dead-letter records handled so far in this run (including the chunk). A throw stops the run
   * there, as a crash would: the engine test's interruption.
   */
  readonly beforeCommit?: (handled: number) => void | Promise<void>;
}

export interface ReplayResult {
  readonly deadLetterTopic: string;
  readonly groupId: string;
  /** Dead-letter records handled in this run. */
  readonly handled: number;
  /** Records sent to source topics (or, dry run, that would be). */
  readonly replayed: number;
  readonly refused: number;
  readonly unrecognised: number;
  /** Each produce request: when (the clock's ms) and how many records. */
  readonly sends: readonly { readonly at: number; readonly records: number }[];
  /** The replay group's committed offset per partition after the run (unchanged by a dry run). */
  readonly committed: Readonly<Record<number, string>>;
  /** Whether every partition was read to the end it had at the start. */
  readonly complete: boolean;
}

/** True when every character is printable (no C0 control characters, no DEL). */
function isPrintable(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

/** A key for the report: UTF-8 text when it is printable text, else base64; cut to 64 characters. */
export function printable(bytes: Buffer | null): string {
  if (bytes === null) return '(none)';
  const text = bytes.toString('utf8');
  const shown =
    Buffer.from(text, 'utf8').equals(bytes) && isPrintable(text)
      ? text
      : `base64:${bytes.toString('base64')}`;
  return shown.length > 64 ? `${shown.slice(0, 61)}...` : shown;
}

function toDeadLetterRecord(partition: number, m: KafkaMessage): DeadLetterRecord {
  return {
    partition,
    offset: m.offset,
    key: m.key ?? null,
    value: m.value ?? null,
    headers: headerList(m.headers),
  };
}

interface Handled {
  readonly offset: string;
  readonly plan: ReplayPlan;
  /** Why nothing is sent for a recognised record, when so. */
  readonly refusal?: string;
  readonly records: number;
}

/** Committed offsets of a group for one topic (partition -> offset; -1 when none). */
async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, bigint>> {
  const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((fetched?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
}

export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayResult> {
  const { kafka, out, dryRun } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const route = deadLetterRoute(options.consumer);
  const dlq = route.topic;
  const groupId = replayGroupId(dlq);
  const admin = kafka.admin();
  await admin.connect();
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  const readGroup = dryRun ? `${groupId}-dry-run-${randomUUID().slice(0, 8)}` : groupId;
  try {
    const [group] = (await admin.describeGroups([groupId])).groups;
    if (!dryRun && group && group.members.length > 0)
      throw new Error(
        `another replay of ${dlq} is running: group ${groupId} has ${group.members.length} member(s) (state ${group.state})`,
      );
    const watermarks = await admin.fetchTopicOffsets(dlq);
    const committed = await committedOffsets(admin, groupId, dlq);
    const start = new Map<number, bigint>();
    const end = new Map<number, bigint>();
    for (const w of watermarks) {
      const low = BigInt(w.low);
      const c = committed.get(w.partition) ?? -1n;
      start.set(w.partition, c >= 0n && c > low ? c : low);
      end.set(w.partition, BigInt(w.high));
    }
    const pending = new Set(
      [...start.keys()].filter((p) => start.get(p)! < end.get(p)!).sort((a, b) => a - b),
    );
    const committedAfter = new Map(committed);
    const committedNow = (): Record<number, string> =>
      Object.fromEntries(
        [...start.keys()].sort((a, b) => a - b).map((p) => [p, String(committedAfter.get(p) ?? -1n)]),
      );

    out(
      `${dryRun ? 'dry run: ' : ''}dlq replay ${options.consumer}: ${dlq} -> ${route.sources.join(', ')}; group ${groupId}; ` +
        `${options.rate} records/s${options.max !== undefined ? `, at most ${options.max} records` : ''}; at least once`,
    );
    const backlog = [...pending].reduce((n, p) => n + (end.get(p)! - start.get(p)!), 0n);
    out(
      `  to read: ${backlog} dead-letter records (${[...start.keys()]
        .sort((a, b) => a - b)
        .map((p) => `p${p} ${start.get(p)}..${end.get(p)}`)
        .join(', ')})`,
    );

    let handled = 0;
    let replayed = 0;
    let refused = 0;
    let unrecognised = 0;
    const sends: { at: number; records: number }[] = [];
    const summary = (complete: boolean): ReplayResult => ({
      deadLetterTopic: dlq,
      groupId,
      handled,
      replayed,
      refused,
      unrecognised,
      sends,
      committed: committedNow(),
      complete,
    });
    const finishLines = (complete: boolean) => {
      out(
        `${dryRun ? 'dry run: would replay' : 'replayed'} ${replayed} records from ${handled} dead-letter records; refused ${refused}, unrecognised ${unrecognised}` +
          (complete ? '' : `; stopped before the end (--max ${options.max})`),
      );
      out(
        dryRun
          ? 'dry run: nothing written, nothing committed'
          : `committed ${groupId}: ${Object.entries(committedNow())
              .map(([p, o]) => `p${p}=${o}`)
              .join(' ')}`,
      );
    };
    if (pending.size === 0) {
      finishLines(true);
      return summary(true);
    }

    const bucket = TokenBucket.perSecond(options.rate, clock);
    if (!dryRun) {
      producer = createProducer(kafka);
      await producer.connect();
    }
    const c = kafka.consumer({
      groupId: readGroup,
      sessionTimeout: 60_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 200,
      maxBytesPerPartition: 16 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      allowAutoTopicCreation: false,
    });
    consumer = c;
    await c.connect();
    await c.subscribe({ topic: dlq, fromBeginning: true });

    let finished = false;
    let settle!: (err?: unknown) => void;
    const done = new Promise<void>((resolve, reject) => {
      settle = (err) => {
        if (finished) return;
        finished = true;
        if (err === undefined) resolve();
        else reject(err instanceof Error ? err : new Error('the replay failed', { cause: err }));
      };
    });
    const reachedMax = () => options.max !== undefined && handled >= options.max;

    const decide = (m: KafkaMessage, partition: number): Handled => {
      const plan = planReplay(toDeadLetterRecord(partition, m));
      if (plan.kind !== 'replay') return { offset: m.offset, plan, records: 0 };
      const foreign = plan.records.map((r) => r.topic).filter((t) => !route.sources.includes(t));
      if (foreign.length > 0)
        return {
          offset: m.offset,
          plan,
          records: 0,
          refusal: `source topic ${[...new Set(foreign)].join(', ')} is not a source of ${dlq} (allowed: ${route.sources.join(', ')})`,
        };
      return { offset: m.offset, plan, records: plan.records.length };
    };

    const report = (partition: number, h: Handled) => {
      const at = `${dlq} p${partition}@${h.offset}`;
      if (h.plan.kind !== 'replay') {
        out(`  ${at} unrecognised: ${h.plan.detail}; nothing written`);
        return;
      }
      if (h.refusal !== undefined) {
        out(`  ${at} refused: ${h.refusal}; nothing written`);
        return;
      }
      for (const r of h.plan.records) {
        const from =
          r.sourcePartition !== undefined ? ` (from p${r.sourcePartition}@${r.sourceOffset ?? '?'})` : '';
        const reason = h.plan.reason ? ` ${h.plan.reason}` : '';
        const to = dryRun ? `would replay to ${r.topic}` : `-> ${r.topic}`;
        out(
          `  ${at} ${h.plan.shape}${reason} ${to}${from} key=${printable(r.key)} headers=${r.headers.length}`,
        );
      }
    };

    const sendChunk = async (chunk: readonly Handled[]) => {
      const byTopic = new Map<string, TopicMessages>();
      for (const h of chunk) {
        if (h.plan.kind !== 'replay' || h.refusal !== undefined) continue;
        for (const r of h.plan.records) {
          const entry = byTopic.get(r.topic) ?? { topic: r.topic, messages: [] };
          entry.messages.push({
            key: r.key,
            value: r.value,
            headers: kafkajsHeaders(r.headers),
            // A keyed record goes where the key's records go now; one without a key back to its partition.
            ...(r.key === null && r.sourcePartition !== undefined ? { partition: r.sourcePartition } : {}),
          });
          byTopic.set(r.topic, entry);
        }
      }
      const count = [...byTopic.values()].reduce((n, t) => n + t.messages.length, 0);
      if (count === 0 || dryRun) return;
      sends.push({ at: clock.now(), records: count });
      await producer!.sendBatch({ topicMessages: [...byTopic.values()], acks: PRODUCE_ACKS });
    };

    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const resolveOffset = (offset: string) => payload.resolveOffset(offset);
        const partition = batch.partition;
        if (finished || !pending.has(partition)) return;
        try {
          const first = start.get(partition)!;
          const last = end.get(partition)!;
          const todo: KafkaMessage[] = [];
          // A record at or past the end read at the start: the partition's records up to that end
          // are in this batch or gone (deleted by retention meanwhile).
          let pastEnd = false;
          for (const m of batch.messages) {
            const offset = BigInt(m.offset);
            if (offset < first) resolveOffset(m.offset);
            else if (offset < last) todo.push(m);
            else pastEnd = true;
          }
          let i = 0;
          while (i < todo.length && !finished && payload.isRunning() && !payload.isStale()) {
            if (reachedMax()) break;
            const room = options.max !== undefined ? options.max - handled : Number.MAX_SAFE_INTEGER;
            const planned = todo.slice(i, i + Math.min(MAX_CHUNK, room)).map((m) => decide(m, partition));
            // The chunk: whole dead-letter records whose records fit the tokens granted (records with
            // nothing to send cost none); a dead-letter record holding more waits for more tokens.
            const wanted = planned.reduce((n, h) => n + h.records, 0);
            let granted = dryRun || wanted === 0 ? wanted : await bucket.take(wanted);
            let take = 0;
            let used = 0;
            while (take < planned.length && used + planned[take]!.records <= granted)
              used += planned[take++]!.records;
            if (take === 0) {
              // The first dead-letter record holds more records than one grant: wait for the rest.
              const needed = planned[0]!.records;
              while (granted < needed) granted += await bucket.take(needed - granted);
              take = 1;
              used = needed;
            }
            const chunk = planned.slice(0, take);
            await sendChunk(chunk);
            for (const h of chunk) {
              report(partition, h);
              if (h.plan.kind !== 'replay') unrecognised++;
              else if (h.refusal !== undefined) refused++;
              else replayed += h.records;
            }
            handled += chunk.length;
            const next = (BigInt(chunk[chunk.length - 1]!.offset) + 1n).toString();
            if (!dryRun) {
              if (options.beforeCommit) await options.beforeCommit(handled);
              await c.commitOffsets([{ topic: dlq, partition, offset: next }]);
              committedAfter.set(partition, BigInt(next));
            }
            start.set(partition, BigInt(next));
            resolveOffset(chunk[chunk.length - 1]!.offset);
            await payload.heartbeat();
            i += take;
          }
          const handledAll =
            todo.length === 0 || BigInt(todo[todo.length - 1]!.offset) < start.get(partition)!;
          if (start.get(partition)! >= last || (pastEnd && handledAll)) {
            pending.delete(partition);
            c.pause([{ topic: dlq, partitions: [partition] }]);
          }
          if (pending.size === 0 || reachedMax()) settle();
        } catch (err) {
          settle(err);
        }
      },
    });
    if (dryRun)
      for (const p of pending) c.seek({ topic: dlq, partition: p, offset: start.get(p)!.toString() });
    await done;
    const complete = pending.size === 0;
    finishLines(complete);
    return summary(complete);
  } finally {
    await consumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    if (dryRun && consumer) await admin.deleteGroups([readGroup]).catch(() => undefined);
    await admin.disconnect();
  }
}
