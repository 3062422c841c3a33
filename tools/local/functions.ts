/**
 * The platform's Lambda functions on the local engines, each in a worker thread of this process
 * (tools/local/function-worker.ts): the handler of `lambda/<name>/index.ts` built from the
 * environment the CDK gives it (topic names from the catalog, timing from the config), with only the
 * endpoints swapped for the local engines; consumers behind the local event-source poller with
 * their mappings' consumer groups, batch sizes, batching windows, retries and on-failure topic.
 * stdout (Powertools logs and EMF metrics) goes to a log file; the metrics are summed.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import {
  CONSUMER_SOURCES,
  consumerSettings,
  consumerTiming,
  type EnvironmentConfig,
  type MskConsumerName,
} from '../../lib/config/platform-config';
import { consumerGroupId } from '../../lib/events/consumer-groups';
import { AGGREGATES_INDEX_PREFIX } from '../../lib/events/search-domain';
import { topicName, type TopicId } from '../../lib/topics/topic-specs';
import type { StateTableSpec } from '../../test/engines/harness/dynalite';
import type { PollerCounters } from '../../test/engines/harness/event-source-poller';
import { addEmfLine, type MetricTotals } from './emf';
import type {
  FromWorker,
  FunctionName,
  FunctionWorkerData,
  MappingSpec,
  ToWorker,
} from './function-protocol';

export type { FunctionName } from './function-protocol';

const ROOT = resolve(__dirname, '..', '..');
const DEAD_LETTER: Record<MskConsumerName, TopicId> = {
  enrich: 'dlqEnrich',
  aggregate: 'dlqAggregate',
  alerting: 'dlqAlerting',
};

/** The local endpoints the functions reach instead of AWS's. */
export interface LocalEndpoints {
  readonly brokers: string;
  readonly dynamodb: string;
  readonly opensearch?: string;
  readonly sns?: { readonly endpoint: string; readonly topicArn: string; readonly region: string };
  /** State table name per consumer. */
  readonly tables: Readonly<Record<MskConsumerName, string>>;
}

/**
 * The environment of a function as lib/events/msk-consumer.ts, lib/stacks/events-stack.ts,
 * lib/telemetry/alerting.ts and the ingest construct set it, with the local endpoints.
 */
export function functionEnvironment(
  name: FunctionName,
  config: EnvironmentConfig,
  endpoints: LocalEndpoints,
): Record<string, string> {
  const common = {
    BOOTSTRAP_BROKERS: endpoints.brokers,
    KAFKA_AUTH: 'none',
    AWS_REGION: endpoints.sns?.region ?? 'us-east-1',
    POWERTOOLS_METRICS_NAMESPACE: 'StreamingPlatform',
    POWERTOOLS_SERVICE_NAME: name,
    POWERTOOLS_LOG_LEVEL: 'WARN',
  };
  if (name === 'ingest') {
    return {
      ...common,
      EVENTS_TOPIC: topicName('eventsUser'),
      MAX_BATCH_SIZE: String(config.ingest.maxBatchSize),
      MAX_MESSAGE_BYTES: String(config.topics.eventsUser.settings.maxMessageBytes),
    };
  }
  const { settings, outageBoundMinutes } = consumerSettings(config, name);
  const timing = consumerTiming({ outageBoundMinutes }, settings);
  const dedupeHorizonDays =
    name === 'alerting' ? config.telemetry.alerting.dedupeHorizonDays : config.events.dedupeHorizonDays;
  const consumer = {
    ...common,
    CONSUMER_NAME: name,
    DEAD_LETTER_TOPIC: topicName(DEAD_LETTER[name]),
    RETRY_BUDGET_SECONDS: String(timing.retryBudgetSeconds),
    STATE_TABLE: endpoints.tables[name],
    DEDUPE_HORIZON_SECONDS: String(dedupeHorizonDays * 86_400),
    CLAIM_LEASE_SECONDS: String(timing.claimLeaseSeconds),
    DYNAMODB_ENDPOINT: endpoints.dynamodb,
  };
  switch (name) {
    case 'enrich':
      return {
        ...consumer,
        EVENTS_TOPIC: topicName('eventsUser'),
        ORDERS_TOPIC: topicName('cdcOrders'),
        ENRICHED_TOPIC: topicName('eventsEnriched'),
      };
    case 'aggregate':
      if (!endpoints.opensearch) throw new Error('aggregate needs the OpenSearch endpoint');
      return {
        ...consumer,
        ENRICHED_TOPIC: topicName('eventsEnriched'),
        AGGREGATES_TOPIC: topicName('eventsAggregates'),
        WINDOWS: config.events.windows.join(','),
        DIMENSIONS: config.events.dimensions.join(','),
        ALLOWED_LATENESS_SECONDS: String(config.events.allowedLatenessSeconds),
        OPENSEARCH_AUTH: 'none',
        OPENSEARCH_ENDPOINT: endpoints.opensearch,
        OPENSEARCH_INDEX_PREFIX: AGGREGATES_INDEX_PREFIX,
      };
    case 'alerting':
      if (!endpoints.sns) throw new Error('alerting needs the SNS endpoint');
      return {
        ...consumer,
        ALERTS_TOPIC: topicName('telemetryAlerts'),
        SNS_TOPIC_ARN: endpoints.sns.topicArn,
        SNS_ENDPOINT: endpoints.sns.endpoint,
      };
  }
}

/** The event source mappings of a consumer, with the config's batch size, window and retries. */
export function mappingsOf(name: MskConsumerName, config: EnvironmentConfig): MappingSpec[] {
  const { settings } = consumerSettings(config, name);
  return CONSUMER_SOURCES[name].map((source) => ({
    topic: topicName(source),
    groupId: consumerGroupId(name, source),
    batchSize: settings.batchSize,
    maximumBatchingWindowMs: settings.maxBatchingWindowSeconds * 1000,
    retryAttempts: settings.retryAttempts,
    onFailureTopic: topicName(DEAD_LETTER[name]),
    startingPosition: settings.startingPosition,
  }));
}

/**
 * A worker thread running one of this folder's TypeScript files. ts-node registers its hook per
 * module registry, and a worker has its own, so the worker registers it first.
 */
export function tsWorker(file: string, options: WorkerOptions): Worker {
  const project = join(ROOT, 'tsconfig.json');
  const bootstrap = `require('ts-node').register({ transpileOnly: true, project: ${JSON.stringify(project)} }); require(${JSON.stringify(join(__dirname, file))});`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** dynalite with these tables in a worker thread of its own (tools/local/dynamo-worker.ts). */
export async function startDynamoWorker(
  tables: readonly StateTableSpec[],
): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const worker = tsWorker('dynamo-worker.ts', { workerData: tables });
  const answer = await new Promise<{ endpoint?: string; error?: string }>((res, rej) => {
    worker.once('message', res);
    worker.once('error', rej);
    worker.once('exit', (code) => rej(new Error(`dynalite's worker exited with code ${code}`)));
  });
  if (!answer.endpoint) {
    await worker.terminate();
    throw new Error(`dynalite did not start: ${answer.error ?? 'no endpoint'}`);
  }
  return {
    endpoint: answer.endpoint,
    stop: async () => {
      const stopped = new Promise((r) => worker.once('message', r));
      worker.postMessage('stop');
      await Promise.race([stopped, sleep(10_000)]);
      await worker.terminate();
    },
  };
}

/** A function running in its worker thread. */
export class LocalFunction {
  /** EMF metrics the function emitted, summed by name. */
  public readonly metrics: MetricTotals = {};
  private nextId = 1;
  private readonly waiting = new Map<number, (message: FromWorker) => void>();
  private exited = false;

  private constructor(
    public readonly name: FunctionName,
    private readonly worker: Worker,
    private readonly log: WriteStream,
    public readonly logFile: string,
  ) {}

  /** Starts the worker; resolves once its pollers joined their groups (or ingest is loaded). */
  static async start(
    name: FunctionName,
    config: EnvironmentConfig,
    endpoints: LocalEndpoints,
    logDir: string,
  ): Promise<LocalFunction> {
    const data: FunctionWorkerData = {
      name,
      brokers: endpoints.brokers,
      mappings: name === 'ingest' ? [] : mappingsOf(name, config),
    };
    const env = functionEnvironment(name, config, endpoints);
    const worker = tsWorker('function-worker.ts', {
      workerData: data,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdout: true,
      stderr: true,
    });
    const logFile = join(logDir, `function-${name}.log`);
    const log = createWriteStream(logFile, { flags: 'a' });
    const fn = new LocalFunction(name, worker, log, logFile);
    createInterface({ input: worker.stdout }).on('line', (line) => {
      if (!addEmfLine(line, fn.metrics)) log.write(line + '\n');
    });
    createInterface({ input: worker.stderr }).on('line', (line) => log.write(line + '\n'));
    const ready = new Promise<void>((res, rej) => {
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') res();
        else if (message.type === 'failed')
          rej(new Error(`function ${name} did not start: ${message.error}`));
        else fn.waiting.get(message.id)?.(message);
      });
      worker.once('error', (err) => rej(err));
      worker.once('exit', (code) => {
        fn.exited = true;
        rej(new Error(`function ${name} exited with code ${code} before it started`));
        for (const [id, resolveWaiter] of fn.waiting)
          resolveWaiter({ type: 'error', id, error: `function ${name} exited with code ${code}` });
      });
    });
    try {
      await ready;
    } catch (err) {
      await fn.terminate();
      throw err;
    }
    return fn;
  }

  private call(message: ToWorker): Promise<FromWorker> {
    if (this.exited) return Promise.resolve({ type: 'error', id: message.id, error: `${this.name} exited` });
    return new Promise((res) => {
      this.waiting.set(message.id, (answer) => {
        this.waiting.delete(message.id);
        res(answer);
      });
      this.worker.postMessage(message);
    });
  }

  /** POST /events with this body through the ingest handler: its status code and JSON body. */
  async invoke(body: string): Promise<{ statusCode: number; body: string }> {
    const answer = await this.call({ type: 'invoke', id: this.nextId++, body });
    if (answer.type === 'invoked') return { statusCode: answer.statusCode, body: answer.body };
    throw new Error(answer.type === 'error' ? answer.error : `unexpected answer ${answer.type}`);
  }

  /** The poller counters of each mapping, by source topic. */
  async pollerCounters(): Promise<Record<string, PollerCounters>> {
    const answer = await this.call({ type: 'stats', id: this.nextId++ });
    return answer.type === 'stats' ? { ...answer.pollers } : {};
  }

  /** Stops the pollers (the batch in hand is finished and committed) and ends the worker. */
  async stop(): Promise<void> {
    if (!this.exited) await Promise.race([this.call({ type: 'stop', id: this.nextId++ }), sleep(30_000)]);
    await this.terminate();
  }

  private async terminate(): Promise<void> {
    await this.worker.terminate();
    this.exited = true;
    await new Promise<void>((res) => this.log.end(() => res()));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
