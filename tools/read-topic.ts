/**
 * Reads a topic and prints each record: partition, offset, key, headers and value, one line each.
 *
 *   npm run topic:read -- --brokers 127.0.0.1:19092 --topic events.user --from-beginning --max 10 --headers
 *
 * Options: `--brokers` (comma-separated, default 127.0.0.1:9092), `--topic` (required),
 * `--from-beginning` (else only records written from now on), `--max N` (stop after N records),
 * `--to-end` (stop once every partition is read up to the end it had at the start), `--timeout MS`
 * (stop after MS milliseconds), `--headers` (print headers too). Without `--max`, `--to-end` or
 * `--timeout` it reads until Ctrl-C. For the local broker (`npm run engines:kafka`), PLAINTEXT.
 *
 * Each run joins a fresh consumer group, commits nothing and deletes the group when it stops, so it
 * disturbs no consumer and leaves nothing behind. Line format:
 *
 *   p0@12 key=dev-1 headers={"traceparent":"00-..."} value={"deviceId":"dev-1",...}
 *
 * A missing key prints `key=(none)`, a tombstone `value=(tombstone)`; bytes that are not UTF-8
 * print as `base64:...`.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

export interface TopicRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface ReadTopicOptions {
  /** Bootstrap brokers, e.g. ['127.0.0.1:9092']. */
  readonly brokers: readonly string[];
  readonly topic: string;
  /** Read from the earliest offset of every partition. @default false (only new records) */
  readonly fromBeginning?: boolean;
  /** Stop after this many records; later ones are not taken. @default no limit */
  readonly max?: number;
  /**
   * Stop once this many records arrived and `settleMs` more passed; records arriving meanwhile are
   * taken too (so a test sees a record beyond the count it expected). @default no such stop
   */
  readonly until?: number;
  /**
   * Stop once every partition is read up to the end offset it had when reading started (the topic as
   * it was then; with `fromBeginning: false`, at once). A partition whose last offset is a
   * transaction marker never delivers it: give a `timeoutMs` too for transactional topics.
   * @default false
   */
  readonly toEnd?: boolean;
  /** With `until`. @default 500 */
  readonly settleMs?: number;
  /** Stop after this long, however many records arrived. @default no limit */
  readonly timeoutMs?: number;
  /** Stops reading when aborted (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Called for each record as it arrives. */
  readonly onRecord?: (record: TopicRecord) => void;
  /** @default 'read-topic' */
  readonly clientId?: string;
}

/**
 * Reads records of a topic with a fresh consumer group (never committed, deleted at the end) until
 * `max`, `toEnd`, `until` + `settleMs`, `timeoutMs` or the signal stops it; resolves with the records
 * taken.
 */
export async function readTopic(options: ReadTopicOptions): Promise<TopicRecord[]> {
  const kafka = new Kafka({
    clientId: options.clientId ?? 'read-topic',
    brokers: [...options.brokers],
    logLevel: logLevel.NOTHING,
  });
  const groupId = `read-topic-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId });
  const records: TopicRecord[] = [];
  const timers: NodeJS.Timeout[] = [];
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  if (options.timeoutMs !== undefined) timers.push(setTimeout(stop, options.timeoutMs));
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.max === 0) stop();

  const admin = kafka.admin();
  /** With toEnd: the partitions not yet read to their end, and that end. */
  const pending = new Map<number, number>();
  try {
    await admin.connect();
    if (options.toEnd) {
      if (options.fromBeginning) {
        for (const p of await admin.fetchTopicOffsets(options.topic)) {
          if (Number(p.high) > Number(p.low)) pending.set(p.partition, Number(p.high));
        }
      }
      if (pending.size === 0) stop();
    }
    await consumer.connect();
    await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning ?? false });
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ topic, partition, message }) => {
        if (options.max !== undefined && records.length >= options.max) return Promise.resolve();
        const record: TopicRecord = {
          topic,
          partition,
          offset: message.offset,
          key: message.key,
          value: message.value,
          headers: Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([name, v]) => [
              name,
              Array.isArray(v) ? v.map(String).join(',') : String(v),
            ]),
          ),
        };
        records.push(record);
        options.onRecord?.(record);
        if (options.max !== undefined && records.length >= options.max) stop();
        if (pending.size > 0 && Number(message.offset) + 1 >= (pending.get(partition) ?? 0)) {
          pending.delete(partition);
          if (pending.size === 0) stop();
        }
        if (options.until !== undefined && records.length === options.until) {
          timers.push(setTimeout(stop, options.settleMs ?? 500));
        }
        return Promise.resolve();
      },
    });
    await stopped;
  } finally {
    // Also when connecting or reading the offsets failed: no connection, timer or listener is left.
    for (const timer of timers) clearTimeout(timer);
    options.signal?.removeEventListener('abort', stop);
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
  return records;
}

/** Bytes as text: UTF-8 when they are valid UTF-8, else `base64:...`. */
function text(bytes: Buffer): string {
  const decoded = bytes.toString('utf8');
  return Buffer.from(decoded, 'utf8').equals(bytes) ? decoded : `base64:${bytes.toString('base64')}`;
}

/** One record as one line: `p<partition>@<offset> key=<key> [headers=<json>] value=<value>`. */
export function formatRecord(record: TopicRecord, options: { headers?: boolean } = {}): string {
  const key = record.key === null ? '(none)' : text(record.key);
  const value = record.value === null ? '(tombstone)' : text(record.value);
  const headers = options.headers ? ` headers=${JSON.stringify(record.headers)}` : '';
  return `p${record.partition}@${record.offset} key=${key}${headers} value=${value}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      brokers: { type: 'string', default: '127.0.0.1:9092' },
      topic: { type: 'string' },
      'from-beginning': { type: 'boolean', default: false },
      'to-end': { type: 'boolean', default: false },
      max: { type: 'string' },
      timeout: { type: 'string' },
      headers: { type: 'boolean', default: false },
    },
  });
  const count = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new Error(`--${name} must be a whole number (got "${value}")`);
    return Number(value);
  };
  if (!values.topic) {
    console.error(
      'usage: read-topic --topic NAME [--brokers HOST:PORT,...] [--from-beginning] [--max N] [--to-end] [--timeout MS] [--headers]',
    );
    process.exit(2);
  }
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  const records = await readTopic({
    brokers: values.brokers.split(','),
    topic: values.topic,
    fromBeginning: values['from-beginning'],
    toEnd: values['to-end'],
    max: count('max', values.max),
    timeoutMs: count('timeout', values.timeout),
    signal: abort.signal,
    onRecord: (record) => console.log(formatRecord(record, { headers: values.headers })),
  });
  console.error(`${records.length} record(s) from ${values.topic}`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
