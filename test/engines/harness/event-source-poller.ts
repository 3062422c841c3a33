/**
 * A local stand-in for a Lambda event source mapping on MSK: reads one topic of the local broker
 * with a consumer group (auto-commit off), invokes a handler with exactly the MSK event shape
 * (lambda/shared/consumer/msk-event.ts), batch size and batching window as the mapping's, commits
 * only after the handler returned, retries a failed batch `retryAttempts` times and then writes it
 * to the on-failure topic in Lambda's format (lambda/shared/consumer/on-failure.ts), commits and
 * goes on. One invocation at a time; while it runs the poller goes on reading and gathers the next
 * batch (its window starts with its first record), which goes once the invocation returned and the
 * window elapsed or the batch is full. A delivery that fails (its commit or its on-failure write, as
 * when the broker restarts) sends its partitions back to their first offsets in it: at least once. Records without a key get `key: null`; kafkajs does not expose a record's timestamp type,
 * so every record says `timestampType` as configured (CREATE_TIME by default).
 */
import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, KafkaMessage, Producer } from 'kafkajs';
import { createKafka, createProducer, PRODUCE_ACKS } from '../../../lambda/shared/kafka-client';
import {
  partitionKey,
  toEventHeaders,
  type MSKEvent,
  type MSKRecord,
} from '../../../lambda/shared/consumer/msk-event';
import { onFailureRecords } from '../../../lambda/shared/consumer/on-failure';
import { bootstrap, kafkaClient } from './clients';

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST';

export interface EventSourcePollerOptions {
  /** The one topic the mapping reads. */
  readonly topic: string;
  /** The consumer group (a mapping's group is its UUID). */
  readonly groupId: string;
  readonly handler: (event: MSKEvent, context: Context) => Promise<unknown>;
  /** Records per invocation, at most (the mapping's BatchSize). */
  readonly batchSize: number;
  /** How long records are gathered before an invocation (MaximumBatchingWindowInSeconds x 1000). */
  readonly maximumBatchingWindowMs: number;
  /** Invocations of a failed batch after the first (the mapping's MaximumRetryAttempts). */
  readonly retryAttempts: number;
  /** The on-failure destination topic; without one a batch is retried until it succeeds. */
  readonly onFailureTopic?: string;
  /** @default 'TRIM_HORIZON' */
  readonly startingPosition?: StartingPosition;
  /** Wait between invocations of a failed batch. @default 100 */
  readonly retryDelayMs?: number;
  /** @default the broker of global-setup.ts */
  readonly brokers?: string;
  /** @default a local cluster ARN */
  readonly eventSourceArn?: string;
  /** @default a local function ARN named after the group */
  readonly functionArn?: string;
  /** @default 'CREATE_TIME' */
  readonly timestampType?: MSKRecord['timestampType'];
}

export interface PollerCounters {
  /** Batches gathered (each invoked at least once). */
  batches: number;
  /** Records in those batches. */
  records: number;
  invocations: number;
  /** Invocations that threw. */
  failures: number;
  /** Batches written to the on-failure topic. */
  onFailureBatches: number;
  /**
   * Records handed to the handler again in a later batch: at or below the highest offset already
   * delivered on their partition (a commit lost to a broker restart, or a rebalance). At least once,
   * as the Lambda mapping; the handlers' dedupe absorbs them.
   */
  redelivered: number;
  /** Records handed to the handler again by the retry of a failed invocation (same batch). */
  retried: number;
  /** Time spent in handler invocations, in ms (wall clock, retries included). */
  handlerMs: number;
  /** Deliveries whose commit or on-failure write failed: their partitions were read again. */
  failedDeliveries: number;
}

interface Pending {
  readonly partition: number;
  readonly message: KafkaMessage;
}

const LOCAL_CLUSTER_ARN =
  'arn:aws:kafka:us-east-1:000000000000:cluster/local/00000000-0000-0000-0000-000000000000-1';

export class EventSourcePoller {
  public readonly counters: PollerCounters = {
    batches: 0,
    records: 0,
    invocations: 0,
    failures: 0,
    onFailureBatches: 0,
    redelivered: 0,
    retried: 0,
    handlerMs: 0,
    failedDeliveries: 0,
  };
  /** The highest offset delivered so far, per partition. */
  private readonly delivered = new Map<number, number>();
  /** Every event given to the handler, in order (for assertions on the shape). */
  public readonly events: MSKEvent[] = [];

  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  /** The batch being gathered (at most batchSize records). */
  private pending: Pending[] = [];
  /** Its batching window. */
  private timer: NodeJS.Timeout | undefined;
  /** Its window elapsed: it goes as soon as the delivery in flight ends. */
  private due = false;
  /** The delivery under way (one at a time). */
  private inFlight: Promise<void> | undefined;
  /** Readers waiting for room in the batch being gathered. */
  private roomWaiters: (() => void)[] = [];
  private readonly brokers: string;

  constructor(private readonly options: EventSourcePollerOptions) {
    if (options.batchSize < 1) throw new Error('batchSize must be at least 1');
    this.brokers = options.brokers ?? bootstrap();
  }

  /** Records read and gathered for the next invocation (not yet handed to the handler). */
  get gathered(): number {
    return this.pending.length;
  }

  /** Joins the group and starts polling; resolves once the group is joined. */
  async start(): Promise<void> {
    const kafka = createKafka({
      brokers: this.brokers,
      auth: 'none',
      clientId: `poller-${this.options.groupId}`,
    });
    const consumer = kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: 60_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    if (this.options.onFailureTopic) {
      this.producer = createProducer(kafka);
      await this.producer.connect();
    }
    await consumer.connect();
    await consumer.subscribe({
      topic: this.options.topic,
      fromBeginning: (this.options.startingPosition ?? 'TRIM_HORIZON') === 'TRIM_HORIZON',
    });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    // After a rebalance the group reads again from the committed offsets: what was gathered and not
    // yet delivered comes again.
    consumer.on(consumer.events.GROUP_JOIN, () => this.dropPending(() => true));
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 64,
      eachBatch: async (payload) => {
        const { batch } = payload;
        let i = 0;
        while (i < batch.messages.length && payload.isRunning() && !payload.isStale()) {
          const room = this.options.batchSize - this.pending.length;
          if (room <= 0) {
            // Full: wait until it goes (the delivery in flight ended), heartbeating meanwhile.
            const beat = setInterval(() => void payload.heartbeat().catch(() => undefined), 3_000);
            try {
              await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
            } finally {
              clearInterval(beat);
            }
            continue;
          }
          const chunk = batch.messages.slice(i, i + room);
          i += chunk.length;
          this.add(batch.partition, chunk);
          // Read on: the position moves past what is gathered; the commit follows its delivery.
          payload.resolveOffset(chunk[chunk.length - 1]!.offset);
        }
      },
    });
    await joined;
  }

  /** Adds records to the batch being gathered (its window starts with its first record). */
  private add(partition: number, messages: KafkaMessage[]): void {
    for (const message of messages) this.pending.push({ partition, message });
    if (this.pending.length >= this.options.batchSize) this.due = true;
    else
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.due = true;
        this.maybeDeliver();
      }, this.options.maximumBatchingWindowMs);
    this.maybeDeliver();
  }

  /** Starts delivering the gathered batch when it is due and no delivery is in flight. */
  private maybeDeliver(): void {
    if (this.inFlight || this.pending.length === 0 || !this.due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.due = false;
    const taken = this.pending;
    this.pending = [];
    for (const wake of this.roomWaiters.splice(0)) wake();
    this.inFlight = this.deliver(taken)
      .catch(() => this.sendBack(taken))
      .finally(() => {
        this.inFlight = undefined;
        this.maybeDeliver();
      });
  }

  /**
   * A delivery failed (its commit or its on-failure write): its partitions go back to their first
   * offsets in it, and what was gathered of them is dropped (it is read again).
   */
  private sendBack(taken: readonly Pending[]): void {
    this.counters.failedDeliveries++;
    const first = new Map<number, number>();
    for (const { partition, message } of taken)
      first.set(partition, Math.min(first.get(partition) ?? Infinity, Number(message.offset)));
    for (const [partition, offset] of first) {
      try {
        this.consumer?.seek({ topic: this.options.topic, partition, offset: String(offset) });
      } catch {
        // Not running (rejoining): it starts again from the committed offsets anyway.
      }
    }
    this.dropPending((p) => first.has(p.partition));
  }

  private dropPending(which: (p: Pending) => boolean): void {
    const before = this.pending.length;
    this.pending = this.pending.filter((p) => !which(p));
    if (this.pending.length === before) return;
    if (this.pending.length === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.due = false;
    }
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  /** The MSK event of these records, grouped by `<topic>-<partition>` in offset order. */
  eventOf(taken: readonly Pending[]): MSKEvent {
    const records: Record<string, MSKRecord[]> = {};
    for (const { partition, message } of taken) {
      const record: MSKRecord = {
        topic: this.options.topic,
        partition,
        offset: Number(message.offset),
        timestamp: Number(message.timestamp),
        timestampType: this.options.timestampType ?? 'CREATE_TIME',
        key: message.key === null ? null : message.key.toString('base64'),
        value: message.value === null ? null : message.value.toString('base64'),
        headers: toEventHeaders(message.headers),
      };
      (records[partitionKey(this.options.topic, partition)] ??= []).push(record);
    }
    for (const list of Object.values(records)) list.sort((a, b) => a.offset - b.offset);
    return {
      eventSource: 'aws:kafka',
      eventSourceArn: this.options.eventSourceArn ?? LOCAL_CLUSTER_ARN,
      bootstrapServers: this.brokers,
      records,
    };
  }

  private context(requestId: string): Context {
    const functionName = `local-${this.options.groupId}`;
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: this.functionArn(),
      memoryLimitInMB: '1024',
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => 900_000,
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }

  private functionArn(): string {
    return (
      this.options.functionArn ??
      `arn:aws:lambda:us-east-1:000000000000:function:local-${this.options.groupId}`
    );
  }

  /** Invokes the handler (retrying as the mapping does), then commits the batch's offsets. */
  private async deliver(taken: readonly Pending[]): Promise<void> {
    const event = this.eventOf(taken);
    this.counters.batches++;
    this.counters.records += taken.length;
    for (const { partition, message } of taken) {
      const offset = Number(message.offset);
      if (offset <= (this.delivered.get(partition) ?? -1)) this.counters.redelivered++;
      else this.delivered.set(partition, offset);
    }
    let requestId = '';
    for (let attempt = 0; ; attempt++) {
      requestId = randomUUID();
      this.counters.invocations++;
      if (attempt > 0) this.counters.retried += taken.length;
      this.events.push(event);
      const invoked = performance.now();
      try {
        await this.options.handler(JSON.parse(JSON.stringify(event)) as MSKEvent, this.context(requestId));
        this.counters.handlerMs += performance.now() - invoked;
        break;
      } catch {
        this.counters.handlerMs += performance.now() - invoked;
        this.counters.failures++;
        const exhausted = this.options.onFailureTopic !== undefined && attempt >= this.options.retryAttempts;
        if (exhausted) {
          await this.producer!.send({
            topic: this.options.onFailureTopic,
            acks: PRODUCE_ACKS,
            messages: onFailureRecords(event, {
              requestId,
              functionArn: this.functionArn(),
              condition: 'RetriesExhausted',
              approximateInvokeCount: attempt + 1,
              at: Date.now(),
            }),
          });
          this.counters.onFailureBatches++;
          break;
        }
        await new Promise((r) => setTimeout(r, this.options.retryDelayMs ?? 100));
      }
    }
    const last = new Map<number, number>();
    for (const { partition, message } of taken) {
      last.set(partition, Math.max(last.get(partition) ?? -1, Number(message.offset)));
    }
    await this.consumer!.commitOffsets(
      [...last].map(([partition, offset]) => ({
        topic: this.options.topic,
        partition,
        offset: String(offset + 1),
      })),
    );
  }

  /**
   * Waits until the group's committed offsets reach the topic's end on every partition (everything
   * produced so far was delivered and committed).
   */
  async untilCaughtUp(timeoutMs = 60_000): Promise<void> {
    const admin: Admin = kafkaClient('poller-lag', [this.brokers]).admin();
    await admin.connect();
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const ends = await admin.fetchTopicOffsets(this.options.topic);
        const [committed] = await admin.fetchOffsets({
          groupId: this.options.groupId,
          topics: [this.options.topic],
        });
        const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
        if (ends.every((p) => Number(p.high) === 0 || (at.get(p.partition) ?? -1) >= Number(p.high))) return;
        if (Date.now() > deadline)
          throw new Error(`the poller of ${this.options.topic} did not catch up in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await admin.disconnect();
    }
  }

  /** Stops polling (the batches in hand are delivered first) and disconnects. */
  async stop(): Promise<void> {
    try {
      this.consumer?.pause([{ topic: this.options.topic }]);
    } catch {
      // Not running: nothing more is read anyway.
    }
    while (this.inFlight || this.pending.length > 0) {
      this.due = true;
      this.maybeDeliver();
      await this.inFlight;
    }
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
    this.consumer = undefined;
    this.producer = undefined;
  }
}
