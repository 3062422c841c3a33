/**
 * The consumer runtime of every MSK consumer of the platform (docs/events-path.md, "The consumer
 * runtime"): decodes the MSK event with Powertools' Kafka utility, dead-letters what cannot be
 * decoded, runs the topic-partitions concurrently (each in offset order) and retries a failing
 * partition with exponential backoff and full jitter for at most the retry budget, after which the
 * invocation fails and the event source mapping retries the batch.
 */
import { kafkaConsumer } from '@aws-lambda-powertools/kafka';
import { KafkaConsumerParserError } from '@aws-lambda-powertools/kafka/errors';
import type { ConsumerRecords, MSKEvent as PowertoolsMskEvent } from '@aws-lambda-powertools/kafka/types';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { IHeaders, Message, Producer } from 'kafkajs';
import { createKafka, createProducer, kafkaAuthFrom, PRODUCE_ACKS, producerCache } from '../kafka-client';
import { logger as defaultLogger, metrics as defaultMetrics, tracer } from '../powertools';
import { fromEventHeaders, type MSKEvent, type MSKRecord } from './msk-event';
import type {
  ConsumerDefinition,
  DeadLetterReason,
  PartitionContext,
  SourceRecord,
  SourceSpec,
} from './types';

export type { MSKEvent, MSKRecord } from './msk-event';

/** The metrics the runtime emits (unit Count, dimension `consumer`; `RecordsDeadLettered` also `reason`). */
export const RUNTIME_METRICS = {
  received: 'RecordsReceived',
  deadLettered: 'RecordsDeadLettered',
  partitionRetries: 'PartitionRetries',
  batchFailures: 'BatchFailures',
} as const;

/** What the runtime logs through (Powertools' Logger satisfies it). */
export interface RuntimeLogger {
  debug(message: string, ...extra: object[]): void;
  info(message: string, ...extra: object[]): void;
  warn(message: string, ...extra: object[]): void;
  error(message: string, ...extra: object[]): void;
}

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** What the runtime counts with (Powertools' Metrics satisfies it). */
export interface RuntimeMetrics {
  addMetric(name: string, unit: Unit, value: number): unknown;
  singleMetric(): {
    addDimension(name: string, value: string): unknown;
    addMetric(name: string, unit: Unit, value: number): unknown;
  };
  setDefaultDimensions(dimensions: Record<string, string>): void;
  publishStoredMetrics(): void;
}

export interface RuntimeDeps {
  /** The container's connected idempotent producer (kafka-client.ts). */
  readonly producer: () => Promise<Producer>;
  /** How long one invocation retries a failing partition before it fails the batch. */
  readonly retryBudgetMs: number;
  /** The clock (epoch ms). @default Date.now */
  readonly now?: () => number;
  /** @default the container's Powertools Logger */
  readonly logger?: RuntimeLogger;
  /** @default the container's Powertools Metrics */
  readonly metrics?: RuntimeMetrics;
  /** Waits between retries. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), for the jitter. @default Math.random */
  readonly random?: () => number;
}

/** The first retry waits up to this long; each later one up to twice as long, capped. */
export const BACKOFF_BASE_MS = 100;
export const BACKOFF_CAP_MS = 10_000;

/** The `dlq.*` header names of the contract (../shared/CONTRACT.md, "Dead-letter records"). */
export const DLQ_HEADERS = {
  reason: 'dlq.reason',
  detail: 'dlq.detail',
  topic: 'dlq.source.topic',
  partition: 'dlq.source.partition',
  offset: 'dlq.source.offset',
  consumer: 'dlq.consumer',
  at: 'dlq.at',
} as const;

/** `dlq.detail` is cut to this many characters (a schema error can list many issues). */
const MAX_DETAIL_CHARS = 1_000;

/** A record of the batch that goes to the dead-letter topic instead of the consumer. */
interface Refused {
  readonly raw: MSKRecord;
  readonly reason: DeadLetterReason;
  readonly detail: string;
}

/** One topic-partition's share of the batch, in offset order. */
interface PartitionWork {
  readonly topic: string;
  readonly partition: number;
  readonly valid: SourceRecord<unknown>[];
  readonly refused: Refused[];
}

/** The whole batch's dead-letter and retry failure, thrown so that the mapping retries it. */
export class BatchFailedError extends Error {
  constructor(
    message: string,
    public readonly failures: readonly { topic: string; partition: number; error: unknown }[],
  ) {
    super(message, { cause: failures[0]?.error });
    this.name = 'BatchFailedError';
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The schema's issues as one line: `path: message; ...`. */
function describeIssues(cause: unknown): string {
  if (!Array.isArray(cause)) return errorMessage(cause);
  return (cause as { message?: string; path?: readonly (PropertyKey | { key: PropertyKey })[] }[])
    .map((issue) => {
      const path = (issue.path ?? [])
        .map((p) => (typeof p === 'object' && p !== null ? String(p.key) : String(p)))
        .join('.');
      return path ? `${path}: ${issue.message}` : String(issue.message);
    })
    .join('; ');
}

function isJson(base64: string): boolean {
  try {
    JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

function headerMap(headers: readonly Record<string, string>[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const header of headers ?? []) Object.assign(out, header);
  return out;
}

/**
 * Decodes one topic's records with Powertools' `kafkaConsumer` (JSON, the source's schema as
 * `parserSchema`), sorting each record into valid or refused. The value is read (and so parsed and
 * validated) only once its size is known to be within the source's limit.
 */
async function decodeTopic(
  records: readonly MSKRecord[],
  spec: SourceSpec<unknown>,
  event: MSKEvent,
  context: Context | undefined,
): Promise<{ record: SourceRecord<unknown> | undefined; refused: Refused | undefined }[]> {
  const sorted: { record: SourceRecord<unknown> | undefined; refused: Refused | undefined }[] = [];
  const decode = kafkaConsumer<unknown, unknown>(
    (decoded: ConsumerRecords<unknown, unknown>) => {
      decoded.records.forEach((r, i) => {
        const raw = records[i]!;
        const refuse = (reason: DeadLetterReason, detail: string): void => {
          sorted.push({ record: undefined, refused: { raw, reason, detail } });
        };
        const base = {
          topic: r.topic,
          partition: r.partition,
          offset: Number(r.offset),
          timestamp: Number(r.timestamp),
          key: raw.key == null ? null : Buffer.from(raw.key, 'base64').toString('utf8'),
        };
        if (raw.value === null || raw.value === undefined) {
          if (!spec.tombstones) return refuse('schema_violation', 'a null value (tombstone) is not accepted');
          sorted.push({
            record: { ...base, value: null, headers: headerMap(r.headers) },
            refused: undefined,
          });
          return;
        }
        const bytes = Buffer.byteLength(raw.value, 'base64');
        if (bytes > spec.maxValueBytes) {
          return refuse('too_large', `value of ${bytes} bytes, more than the limit of ${spec.maxValueBytes}`);
        }
        // Checked before Powertools reads the value: its JSON deserializer writes an unparsable value
        // whole to the console, and record contents stay out of the logs. Valid values are parsed
        // twice; JSON.parse is a small part of a record's cost (bench/handlers).
        if (!isJson(raw.value)) return refuse('invalid_json', 'the value is not JSON');
        let value: unknown;
        try {
          value = r.value;
        } catch (err) {
          if (err instanceof KafkaConsumerParserError) {
            return refuse('schema_violation', describeIssues(err.cause).slice(0, MAX_DETAIL_CHARS));
          }
          return refuse('invalid_json', errorMessage(err).slice(0, MAX_DETAIL_CHARS));
        }
        sorted.push({ record: { ...base, value, headers: headerMap(r.headers) }, refused: undefined });
      });
      return Promise.resolve();
    },
    { value: { type: 'json', parserSchema: spec.schema } },
  );
  const topicEvent = { ...event, records: { topic: records } } as unknown as PowertoolsMskEvent;
  await decode(topicEvent, (context ?? {}) as Context);
  return sorted;
}

/** Groups the event's records by topic-partition, each in offset order, decoded and sorted. */
async function partitionsOf(
  event: MSKEvent,
  definition: ConsumerDefinition,
  context: Context | undefined,
): Promise<PartitionWork[]> {
  const byTopic = new Map<string, MSKRecord[]>();
  for (const list of Object.values(event.records)) {
    for (const record of list) {
      const bucket = byTopic.get(record.topic) ?? [];
      bucket.push(record);
      byTopic.set(record.topic, bucket);
    }
  }
  const work = new Map<string, PartitionWork>();
  for (const [topic, records] of byTopic) {
    const spec = definition.sources[topic];
    if (!spec) throw new Error(`the ${definition.name} consumer has no source ${JSON.stringify(topic)}`);
    for (const { record, refused } of await decodeTopic(records, spec, event, context)) {
      const raw = record ?? refused!.raw;
      const key = `${raw.topic}\u0000${raw.partition}`;
      let p = work.get(key);
      if (!p) {
        p = { topic: raw.topic, partition: raw.partition, valid: [], refused: [] };
        work.set(key, p);
      }
      if (record) p.valid.push(record);
      else p.refused.push(refused!);
    }
  }
  for (const p of work.values()) {
    p.valid.sort((a, b) => a.offset - b.offset);
    p.refused.sort((a, b) => a.raw.offset - b.raw.offset);
  }
  return [...work.values()];
}

/**
 * The dead-letter record of a refused record: key and value bytes untouched, the original headers
 * (except earlier `dlq.*` ones, which these replace) and the contract's `dlq.*` headers.
 */
export function deadLetterMessage(
  raw: Pick<MSKRecord, 'topic' | 'partition' | 'offset' | 'key' | 'value' | 'headers'>,
  reason: DeadLetterReason,
  detail: string,
  consumer: string,
  at: number,
): Message {
  const headers: IHeaders = {};
  for (const { name, value } of fromEventHeaders(raw.headers)) {
    if (name.startsWith('dlq.')) continue;
    const existing = headers[name];
    headers[name] =
      existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  Object.assign(headers, {
    [DLQ_HEADERS.reason]: reason,
    [DLQ_HEADERS.detail]: detail,
    [DLQ_HEADERS.topic]: raw.topic,
    [DLQ_HEADERS.partition]: String(raw.partition),
    [DLQ_HEADERS.offset]: String(raw.offset),
    [DLQ_HEADERS.consumer]: consumer,
    [DLQ_HEADERS.at]: new Date(at).toISOString(),
  });
  return {
    key: raw.key == null ? null : Buffer.from(raw.key, 'base64'),
    value: raw.value == null ? null : Buffer.from(raw.value, 'base64'),
    headers,
  };
}

/** The offsets of all the partition's records in the invocation, valid and refused. */
function rangeOf(p: PartitionWork): { first: number; last: number } {
  const offsets = [...p.valid.map((r) => r.offset), ...p.refused.map((r) => r.raw.offset)];
  return { first: Math.min(...offsets), last: Math.max(...offsets) };
}

/** The raw form of a decoded record, for a consumer's own dead-letter (`processing_error`). */
function rawOf(record: SourceRecord<unknown>, original: Map<string, MSKRecord>): MSKRecord {
  const raw = original.get(`${record.topic}\u0000${record.partition}\u0000${record.offset}`);
  if (!raw)
    throw new Error(`no record at ${record.topic}-${record.partition}@${record.offset} in this batch`);
  return raw;
}

/**
 * The handler of a consumer: decode, dead-letter, apply per partition with retries. Resolves when
 * every record is applied or dead-lettered; throws (so the mapping retries the batch) when a
 * partition still fails after the retry budget.
 */
export function createMskHandler(
  definition: ConsumerDefinition,
  deps: RuntimeDeps,
): (event: MSKEvent, context?: Context) => Promise<void> {
  const now = deps.now ?? Date.now;
  const log = deps.logger ?? defaultLogger;
  const metrics = deps.metrics ?? defaultMetrics;
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  metrics.setDefaultDimensions({ consumer: definition.name });

  async function produce(topic: string, messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    const producer = await deps.producer();
    await producer.send({ topic, acks: PRODUCE_ACKS, messages });
  }

  async function deadLetter(refused: readonly Refused[]): Promise<void> {
    if (refused.length === 0) return;
    const at = now();
    await produce(
      definition.deadLetterTopic,
      refused.map((r) => deadLetterMessage(r.raw, r.reason, r.detail, definition.name, at)),
    );
    for (const r of refused) {
      const single = metrics.singleMetric();
      single.addDimension('reason', r.reason);
      single.addMetric(RUNTIME_METRICS.deadLettered, MetricUnit.Count, 1);
      log.warn('record dead-lettered', {
        reason: r.reason,
        detail: r.detail,
        topic: r.raw.topic,
        partition: r.raw.partition,
        offset: r.raw.offset,
      });
    }
  }

  /** Runs `step` until it succeeds, backing off with full jitter, until the budget is spent. */
  async function withRetries(p: PartitionWork, started: number, step: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await step();
        return;
      } catch (err) {
        const delay = Math.floor(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
        const spent = now() - started;
        if (spent + delay > deps.retryBudgetMs) {
          log.error('partition failed after the retry budget', {
            topic: p.topic,
            partition: p.partition,
            attempts: attempt + 1,
            spentMs: spent,
            error: errorMessage(err),
          });
          throw err;
        }
        metrics.addMetric(RUNTIME_METRICS.partitionRetries, MetricUnit.Count, 1);
        log.warn('partition failed, retrying', {
          topic: p.topic,
          partition: p.partition,
          attempt: attempt + 1,
          delayMs: delay,
          error: errorMessage(err),
        });
        await sleep(delay);
      }
    }
  }

  return async (event: MSKEvent, context?: Context): Promise<void> => {
    const started = now();
    const original = new Map<string, MSKRecord>();
    let received = 0;
    for (const list of Object.values(event.records)) {
      for (const r of list) {
        original.set(`${r.topic}\u0000${r.partition}\u0000${r.offset}`, r);
        received++;
      }
    }
    metrics.addMetric(RUNTIME_METRICS.received, MetricUnit.Count, received);
    try {
      const partitions = await partitionsOf(event, definition, context);
      const results = await Promise.allSettled(
        partitions.map(async (p) => {
          await withRetries(p, started, () => deadLetter(p.refused));
          if (p.valid.length === 0) return;
          const partitionContext: PartitionContext = {
            deadLetter: (record, detail) =>
              deadLetter([{ raw: rawOf(record, original), reason: 'processing_error', detail }]),
            produce: (topic, messages) =>
              produce(
                topic,
                messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
              ),
            count: (metric, value = 1) => metrics.addMetric(metric, MetricUnit.Count, value),
            now,
            range: rangeOf(p),
          };
          await withRetries(p, started, () => definition.apply(p.valid, partitionContext));
        }),
      );
      const failures = results.flatMap((r, i) =>
        r.status === 'rejected'
          ? [{ topic: partitions[i]!.topic, partition: partitions[i]!.partition, error: r.reason as unknown }]
          : [],
      );
      if (failures.length > 0) {
        metrics.addMetric(RUNTIME_METRICS.batchFailures, MetricUnit.Count, 1);
        throw new BatchFailedError(
          `${failures.length} partition(s) failed after ${deps.retryBudgetMs} ms of retries: ` +
            failures.map((f) => `${f.topic}-${f.partition}: ${errorMessage(f.error)}`).join('; '),
          failures,
        );
      }
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

/** The environment a consumer function runs with (set by the CDK from the catalog and config). */
export interface ConsumerEnvironment {
  readonly BOOTSTRAP_BROKERS: string;
  readonly KAFKA_AUTH: string;
  readonly AWS_REGION?: string;
  readonly RETRY_BUDGET_SECONDS: string;
  readonly DEAD_LETTER_TOPIC: string;
  readonly CONSUMER_NAME: string;
  readonly [name: string]: string | undefined;
}

/** An environment variable that must be set and non-empty. */
export function required(env: Readonly<Record<string, string | undefined>>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** A whole number of seconds, at least `min`. */
function wholeSeconds(env: Readonly<Record<string, string | undefined>>, name: string, min: number): number {
  const text = required(env, name);
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    const kind = min > 0 ? 'a positive' : 'a non-negative';
    throw new Error(`${name} must be ${kind} whole number of seconds (got ${text})`);
  }
  return value;
}

/** A positive whole number of seconds (a horizon or a lease: 0 would expire everything at once). */
export function positiveSeconds(env: Readonly<Record<string, string | undefined>>, name: string): number {
  return wholeSeconds(env, name, 1);
}

/** A non-negative whole number of seconds (ALLOWED_LATENESS_SECONDS: 0 accepts no late record). */
export function seconds(env: Readonly<Record<string, string | undefined>>, name: string): number {
  return wholeSeconds(env, name, 0);
}

/**
 * The Lambda `handler` of a consumer, built on the first invocation from the environment
 * (`BOOTSTRAP_BROKERS`, `KAFKA_AUTH`, `AWS_REGION`, `RETRY_BUDGET_SECONDS`, `DEAD_LETTER_TOPIC`,
 * `CONSUMER_NAME`), with one idempotent producer per container, connected on first use.
 */
export function consumerHandlerFromEnvironment(
  factory: (env: ConsumerEnvironment) => ConsumerDefinition,
  env: NodeJS.ProcessEnv = process.env,
): (event: MSKEvent, context?: Context) => Promise<void> {
  let handler: ((event: MSKEvent, context?: Context) => Promise<void>) | undefined;
  let definitionName = '';

  function build(): (event: MSKEvent, context?: Context) => Promise<void> {
    const budgetSeconds = Number(required(env, 'RETRY_BUDGET_SECONDS'));
    if (!Number.isFinite(budgetSeconds) || budgetSeconds <= 0) {
      throw new Error(`RETRY_BUDGET_SECONDS must be a positive number (got ${env.RETRY_BUDGET_SECONDS})`);
    }
    const consumerEnv: ConsumerEnvironment = {
      ...env,
      BOOTSTRAP_BROKERS: required(env, 'BOOTSTRAP_BROKERS'),
      KAFKA_AUTH: kafkaAuthFrom(env.KAFKA_AUTH),
      RETRY_BUDGET_SECONDS: String(budgetSeconds),
      DEAD_LETTER_TOPIC: required(env, 'DEAD_LETTER_TOPIC'),
      CONSUMER_NAME: required(env, 'CONSUMER_NAME'),
    };
    const definition = factory(consumerEnv);
    if (definition.name !== consumerEnv.CONSUMER_NAME) {
      throw new Error(`CONSUMER_NAME is ${consumerEnv.CONSUMER_NAME} but the consumer is ${definition.name}`);
    }
    if (definition.deadLetterTopic !== consumerEnv.DEAD_LETTER_TOPIC) {
      throw new Error(
        `DEAD_LETTER_TOPIC is ${consumerEnv.DEAD_LETTER_TOPIC} but the consumer dead-letters to ${definition.deadLetterTopic}`,
      );
    }
    definitionName = definition.name;
    defaultLogger.appendKeys({ consumer: definition.name });
    const producers = producerCache(() =>
      createProducer(
        createKafka({
          brokers: consumerEnv.BOOTSTRAP_BROKERS,
          auth: kafkaAuthFrom(consumerEnv.KAFKA_AUTH),
          region: consumerEnv.AWS_REGION,
          clientId: definition.name,
        }),
      ),
    );
    return createMskHandler(definition, { producer: producers.get, retryBudgetMs: budgetSeconds * 1_000 });
  }

  return async (event: MSKEvent, context?: Context): Promise<void> => {
    handler ??= build();
    if (context) defaultLogger.addContext(context);
    const segment = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
    const subsegment = segment?.addNewSubsegment(`## ${definitionName}`);
    if (subsegment) tracer.setSegment(subsegment);
    try {
      tracer.annotateColdStart();
      tracer.putAnnotation('consumer', definitionName);
      await handler(event, context);
    } catch (err) {
      subsegment?.addError(err as Error);
      throw err;
    } finally {
      subsegment?.close();
      if (segment) tracer.setSegment(segment);
    }
  };
}
