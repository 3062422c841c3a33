/**
 * The whole platform on one machine: `runLocal(options)` starts the engines of the shared harness,
 * creates the catalog topics, runs the Lambda handlers behind the local event-source poller, the
 * sessionize job on the Flink mini cluster, Debezium on Kafka Connect and the MQTT bridge, drives
 * them with the generators, reports progress to an output, drains, and returns the report. It stops
 * everything it started before it returns (also on an abort and on a failure). The CLI
 * (tools/local/cli.ts), an end-to-end test and a bench call this same function.
 */
import { Client as SearchClient } from '@opensearch-project/opensearch';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { logLevel, type Admin } from 'kafkajs';
import { renderDebeziumPostgresConfig } from '../../lib/cdc/debezium-config';
import { loadEnvironments, type EnvironmentConfig, windowSeconds } from '../../lib/config/platform-config';
import { consumerGroupId } from '../../lib/events/consumer-groups';
import { telemetryBridge } from '../../lib/iot/telemetry-bridge';
import { AGGREGATES_INDEX_PREFIX } from '../../lib/events/search-domain';
import { kafkaTopicConfigs } from '../../lib/topics/topic-settings';
import { TOPIC_SPECS, topicName, type TopicId } from '../../lib/topics/topic-specs';
import { applySearchSetup } from '../../lambda/shared/search/apply';
import { localAwsIdentity, startCdcWorker } from '../../test/engines/harness/cdc';
import { createTemplateTopics } from '../../test/engines/harness/clients';
import type { LocalConnect } from '../../test/engines/harness/connect';
import type { PollerCounters } from '../../test/engines/harness/event-source-poller';
import { startSessionize, type SessionizeRun } from '../../test/engines/harness/flink';
import { LocalKafka } from '../../test/engines/harness/kafka';
import { LocalOpenSearch } from '../../test/engines/harness/opensearch';
import { CdcDatabase } from '../../test/engines/harness/postgres';
import { SecretsManagerStub } from '../../test/engines/harness/secrets-manager-stub';
import { SnsStandIn } from '../../test/engines/harness/sns-stand-in';
import { startBridge, type BridgeHandle } from '../mqtt-bridge';
import { readTopic } from '../read-topic';
import { EventsGenerator } from './events-generator';
import { LocalFunction, startDynamoWorker, type FunctionName, type LocalEndpoints } from './functions';
import { LakeWatcher, type LakeRow } from './lake';
import { startPrivateMosquitto } from './mosquitto';
import { removeLeftovers, RunRecorder } from './leftovers';
import { DEFAULT_OPTIONS, type LocalOptions } from './options';
import { OrdersGenerator } from './orders-generator';
import {
  balance,
  type LocalReport,
  type MappingStats,
  type Phase,
  type ProgressSnapshot,
  type StepBalance,
} from './report';
import { LatencySamples } from './stats';
import { TelemetryGenerator } from './telemetry-generator';

const ROOT = join(__dirname, '..', '..');
const CONNECTOR = 'cdc-orders-postgres';
const SECRET_NAME = 'streaming-local-orders-cdc-db';
const STATE_TABLES = {
  enrich: 'local-enrich-state',
  aggregate: 'local-aggregate-state',
  alerting: 'local-alerting-state',
};

/** Where a run's lines and progress go (a terminal, a log, a test's collector). */
export interface LocalOutput {
  /** A line of the run's log: engines started, phases, problems. */
  line(text: string): void;
  /** The live progress (a terminal redraws it in place). */
  progress(snapshot: ProgressSnapshot): void;
}

/** Output that keeps nothing (a test reads the returned report instead). */
export const SILENT_OUTPUT: LocalOutput = { line: () => undefined, progress: () => undefined };

export interface RunLocalDeps {
  /** @default SILENT_OUTPUT */
  readonly output?: LocalOutput;
  /** Aborting stops the generators at once, drains (bounded) and reports (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** How often progress is reported. @default 2000 */
  readonly progressIntervalMs?: number;
  /**
   * Called once the generators run, with the engines (a fault test restarts one of them here). The
   * run waits for it before it drains, and goes on generating meanwhile.
   */
  readonly whileRunning?: (engines: LocalEngines) => Promise<void>;
  /**
   * Called once every engine is up, before the generators start (a test subscribes to the run's
   * MQTT broker here to see every reading). A failure ends the run before it generates anything.
   */
  readonly beforeGenerators?: (engines: LocalEngines) => Promise<void>;
}

/** The engines of a run, for {@link RunLocalDeps.whileRunning}. */
export interface LocalEngines {
  readonly kafka: LocalKafka;
  readonly connect?: LocalConnect;
  readonly opensearch?: LocalOpenSearch;
  readonly sessionize?: SessionizeRun;
  readonly bridge?: BridgeHandle;
  /** The run's own MQTT broker, where the devices publish (with the telemetry source). */
  readonly mqttUrl?: string;
  readonly functions: ReadonlyMap<FunctionName, LocalFunction>;
}

/** The environment's configuration from cdk.json with the run's `-c` context, as the CDK app reads it. */
export function loadLocalConfig(
  envName: string,
  context: Readonly<Record<string, string>> = {},
): EnvironmentConfig {
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const [config] = loadEnvironments({ ...cdkJson.context, ...context, env: envName });
  if (!config) throw new Error(`no environment ${envName} in cdk.json`);
  return config;
}

/** The consumer groups the progress and the drain watch, with their source topic. */
function watchedGroups(options: LocalOptions): { group: string; topic: string }[] {
  const groups: { group: string; topic: string }[] = [];
  const add = (consumer: string, source: TopicId) =>
    groups.push({ group: consumerGroupId(consumer, source), topic: topicName(source) });
  if (options.sources.includes('events')) add('enrich', 'eventsUser');
  if (options.sources.includes('orders')) add('enrich', 'cdcOrders');
  if (options.sources.includes('events')) add('aggregate', 'eventsEnriched');
  if (options.sources.includes('telemetry')) {
    add('sessionize', 'telemetryRaw');
    add('alerting', 'telemetryAlerts');
  }
  return groups;
}

async function topicCounts(admin: Admin): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const spec of Object.values(TOPIC_SPECS)) {
    const offsets = await admin.fetchTopicOffsets(spec.name);
    counts[spec.name] = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  }
  return counts;
}

async function groupLags(
  admin: Admin,
  groups: readonly { group: string; topic: string }[],
): Promise<Record<string, number>> {
  const lags: Record<string, number> = {};
  for (const { group, topic } of groups) {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    lags[group] = ends.reduce((sum, p) => {
      const c = at.get(p.partition) ?? -1;
      return sum + Number(p.high) - (c < 0 ? Number(p.low) : Math.max(c, Number(p.low)));
    }, 0);
  }
  return lags;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((res) => {
    if (signal?.aborted) return res();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      res();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Runs the platform locally; see the file comment. */
export async function runLocal(
  partial: Partial<LocalOptions> = {},
  deps: RunLocalDeps = {},
): Promise<LocalReport> {
  const options: LocalOptions = { ...DEFAULT_OPTIONS, ...partial };
  const out = deps.output ?? SILENT_OUTPUT;
  const signal = deps.signal;
  const has = (s: LocalOptions['sources'][number]): boolean => options.sources.includes(s);
  const t0 = Date.now();
  const config = loadLocalConfig(options.envName, options.context);
  const problems: string[] = [];
  const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
  const extraDirs: string[] = [];
  let phase: Phase = 'starting';
  let genStart = 0;
  let genEnd = 0;
  let drainEnd = 0;
  let drained = false;
  let interrupted = false;
  let report: LocalReport | undefined;

  // Everything the run started, for the progress, the drain and the report.
  let kafka: LocalKafka | undefined;
  let admin: Admin | undefined;
  let search: LocalOpenSearch | undefined;
  let sns: SnsStandIn | undefined;
  let bridge: BridgeHandle | undefined;
  let job: SessionizeRun | undefined;
  let connect: LocalConnect | undefined;
  let db: CdcDatabase | undefined;
  const functions = new Map<FunctionName, LocalFunction>();
  let events: EventsGenerator | undefined;
  let orders: OrdersGenerator | undefined;
  let telemetry: TelemetryGenerator | undefined;
  let lake: LakeWatcher | undefined;
  let lakeRows: LakeRow[] = [];
  let lakeRead: Promise<void> | undefined;
  const alertSeenAt = new Map<string, number>();
  let snsSeen = 0;
  const groups = watchedGroups(options);
  let lastCounts: Record<string, number> = {};
  let lastLags: Record<string, number> = {};

  let mqttUrl = '';
  // The rule's definition with the environment's topic filter, for the bridge and the devices.
  const bridgeDefinition = telemetryBridge({ topicFilter: config.iot.topicFilter });
  const lakeDir = join(options.dir, 'lake');
  const logDir = join(options.dir, 'logs');

  const readLake = (): Promise<void> => {
    if (!lake) return Promise.resolve();
    lakeRead ??= lake
      .rows()
      .then((rows) => void (lakeRows = rows))
      .catch(
        (err: unknown) => void problems.push(`reading the lake: ${(err as Error).message.split('\n')[0]}`),
      )
      .finally(() => (lakeRead = undefined));
    return lakeRead;
  };

  const generated = (): Record<string, number> => ({
    ...(events ? { 'app events sent': events.counters.sent } : {}),
    ...(orders
      ? { 'order changes': orders.counters.inserts + orders.counters.updates + orders.counters.deletes }
      : {}),
    ...(telemetry ? { 'readings published': telemetry.counters.published } : {}),
  });

  const snapshot = async (): Promise<ProgressSnapshot | undefined> => {
    if (!admin) return undefined;
    try {
      lastCounts = await topicCounts(admin);
      lastLags = await groupLags(admin, groups);
    } catch {
      // The broker is busy (or stopping): the last numbers stand.
    }
    return {
      phase,
      elapsedSeconds: genStart ? ((genEnd || Date.now()) - genStart) / 1000 : 0,
      plannedSeconds: options.durationSeconds,
      topics: Object.entries(lastCounts).map(([topic, records]) => ({ topic, records })),
      lags: Object.entries(lastLags).map(([group, lag]) => ({ group, lag })),
      generated: generated(),
      ...(has('telemetry')
        ? {
            sessionsClosed: lakeRows.length,
            lakeFiles: lake?.firstSeen.size ?? 0,
            alertsRaised: lastCounts[topicName('telemetryAlerts')] ?? 0,
            alertsPublished: sns?.published.length ?? 0,
          }
        : {}),
    };
  };

  let progressTimer: NodeJS.Timeout | undefined;
  let lakeTimer: NodeJS.Timeout | undefined;
  let snsTimer: NodeJS.Timeout | undefined;
  let ticking = false;
  const tick = async (): Promise<void> => {
    if (ticking) return;
    ticking = true;
    try {
      const s = await snapshot();
      if (s) out.progress(s);
    } finally {
      ticking = false;
    }
  };

  try {
    // ---- start-up ----
    const leftovers = await removeLeftovers(options.dir);
    for (const l of leftovers) out.line(`left over from an earlier run, removed: ${l}`);
    rmSync(options.dir, { recursive: true, force: true });
    mkdirSync(logDir, { recursive: true });
    const recorder = new RunRecorder(join(options.dir, 'run.json'));
    out.line(
      `env ${config.envName}, seed ${options.seed}, sources ${options.sources.join(',')}; run directory ${relative(process.cwd(), options.dir) || '.'}`,
    );

    kafka = await LocalKafka.start({ dir: join(options.dir, 'kafka'), heap: '512m' });
    const kafkaRef = kafka;
    cleanups.push({ name: 'Kafka', run: () => kafkaRef.stop({ keepFiles: true }) });
    recorder.noteChildren();
    out.line(`Kafka ${kafka.bootstrap} (KRaft, logs ${relative(process.cwd(), kafka.logFile)})`);
    admin = kafka.admin();
    await admin.connect();
    const adminRef = admin;
    cleanups.push({ name: 'Kafka admin', run: () => adminRef.disconnect() });
    // The catalog's topics with the environment's settings; one broker here, so replication factor 1
    // and min.insync.replicas 1 (the only settings that differ from the template's).
    await createTemplateTopics(
      admin,
      (Object.keys(TOPIC_SPECS) as TopicId[]).map((id) => {
        const t = config.topics[id];
        return {
          name: t.name,
          partitions: t.settings.partitions,
          replicationFactor: 1,
          configs: { ...kafkaTopicConfigs(t.settings), 'min.insync.replicas': '1' },
        };
      }),
    );
    out.line(
      `catalog topics created: ${Object.keys(TOPIC_SPECS).length} (${config.envName} settings, replication 1)`,
    );

    const brokers = kafka.bootstrap;
    const starts: Promise<void>[] = [];
    const needDynamo = options.sources.length > 0;
    let dynamo: { endpoint: string } | undefined;
    if (needDynamo)
      starts.push(
        (async () => {
          const d = await startDynamoWorker([
            { name: STATE_TABLES.enrich, ordersByUser: true },
            { name: STATE_TABLES.aggregate },
            { name: STATE_TABLES.alerting },
          ]);
          dynamo = d;
          cleanups.push({ name: 'dynalite', run: () => d.stop() });
        })(),
      );
    if (has('telemetry'))
      starts.push(
        (async () => {
          sns = await SnsStandIn.start({ region: 'us-east-1' });
          const s = sns;
          cleanups.push({ name: 'SNS stand-in', run: () => s.stop() });
        })(),
      );
    if (has('events'))
      starts.push(
        (async () => {
          search = await LocalOpenSearch.start({ dir: join(options.dir, 'opensearch'), heap: '512m' });
          const s = search;
          cleanups.push({ name: 'OpenSearch', run: () => s.stop() });
          recorder.noteChildren();
          const client = new SearchClient({ node: search.url });
          await applySearchSetup(
            client.transport,
            {
              indexPrefix: AGGREGATES_INDEX_PREFIX,
              shards: 1,
              replicas: 0,
              retentionDays: config.events.opensearch.indexRetentionDays,
              writerRoleArns: [],
            },
            { ism: false, security: false },
          );
          await client.close();
          out.line(
            `OpenSearch ${search.url} (index template applied; started in ${(search.startMs / 1000).toFixed(1)} s)`,
          );
        })(),
      );
    if (has('orders'))
      starts.push(
        (async () => {
          const publicationName = config.cdc.publicationName;
          db = await CdcDatabase.create({ publicationName });
          const d = db;
          // Slots are per server, not per database: one of its own per run (runs may overlap).
          const slotName = `${config.cdc.slotName}_${d.name.slice(d.name.lastIndexOf('_') + 1)}`;
          recorder.noteDatabase({ name: d.name, user: d.user, slot: slotName });
          cleanups.push({ name: 'PostgreSQL database', run: () => d.drop({ slotName, publicationName }) });
          const identity = localAwsIdentity();
          const secrets = await SecretsManagerStub.start(identity);
          cleanups.push({ name: 'Secrets Manager stub', run: () => secrets.stop() });
          secrets.putSecret(SECRET_NAME, { username: d.user, password: d.password });
          connect = await startCdcWorker(secrets, identity, undefined, brokers);
          const c = connect;
          recorder.noteChildren();
          cleanups.push({ name: 'Kafka Connect', run: () => c.stop({ keepFiles: options.keep }) });
          // Outside the run's directory: recorded, so that the next run removes it if this one is killed.
          recorder.noteDir(dirname(dirname(c.logFile)));
          if (options.keep) extraDirs.push(dirname(dirname(c.logFile)));
          await c.putConnector(
            CONNECTOR,
            renderDebeziumPostgresConfig({
              connectorName: CONNECTOR,
              database: { host: d.host, port: d.port, name: d.name },
              secretReference: SECRET_NAME,
              slotName,
              publicationName,
              topic: topicName('cdcOrders'),
              snapshotMode: config.cdc.snapshotMode,
              heartbeatIntervalMs: config.cdc.heartbeatIntervalMs,
              tables: config.cdc.tables,
              sslMode: 'disable',
            }),
          );
          await c.waitForRunning(CONNECTOR, 120_000);
          out.line(`PostgreSQL database ${d.name}; Debezium on Kafka Connect ${c.url} (slot ${slotName})`);
        })(),
      );
    if (has('telemetry'))
      starts.push(
        (async () => {
          job = await startSessionize({
            bootstrap: brokers,
            lakeDir,
            telemetry: config.telemetry,
            checkpointIntervalMs: options.checkpointSeconds * 1000,
            startTimeoutMs: 300_000,
          });
          const j = job;
          recorder.noteChildren();
          cleanups.push({
            name: 'Flink mini cluster',
            run: async () => {
              await j.stop();
              if (!options.keep) rmSync(dirname(j.logFile), { recursive: true, force: true });
            },
          });
          recorder.noteDir(dirname(j.logFile));
          if (options.keep) extraDirs.push(dirname(j.logFile));
          await j.started;
          lake = new LakeWatcher(lakeDir);
          out.line(
            `sessionize job running on the Flink mini cluster (log ${relative(process.cwd(), j.logFile)})`,
          );
        })(),
      );
    if (has('telemetry'))
      starts.push(
        (async () => {
          const mqtt = await startPrivateMosquitto(options.dir);
          mqttUrl = mqtt.url;
          cleanups.push({ name: 'Mosquitto', run: () => mqtt.stop() });
          recorder.noteChildren();
          bridge = await startBridge({
            definition: bridgeDefinition,
            mqttUrl: mqtt.url,
            kafkaBrokers: [brokers],
            errorDir: join(options.dir, 'iot-errors'),
            clientId: `telemetry-bridge-local-${process.pid}`,
            sessionExpirySeconds: 300,
            // Its failures are counted (the error path); kafkajs' own retry chatter is not shown.
            kafkaLogLevel: logLevel.NOTHING,
            log: () => undefined,
          });
          const b = bridge;
          cleanups.push({ name: 'MQTT bridge', run: () => b.stop() });
          out.line(
            `Mosquitto ${mqtt.url} (the run's own) and the MQTT bridge -> ${topicName('telemetryRaw')} (the IoT rule's definition)`,
          );
        })(),
      );
    const settled = await Promise.allSettled(starts);
    const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed.length > 0) throw new Error(failed.map((f) => (f.reason as Error).message).join('\n'));

    const endpoints: LocalEndpoints = {
      brokers,
      dynamodb: dynamo?.endpoint ?? '',
      ...(search ? { opensearch: search.url } : {}),
      ...(sns
        ? {
            sns: {
              endpoint: sns.endpoint,
              topicArn: sns.createTopic(`${config.platformName}-local-alerts`),
              region: sns.region,
            },
          }
        : {}),
      tables: STATE_TABLES,
    };
    const names: FunctionName[] = [
      ...(has('events') ? (['ingest'] as const) : []),
      ...(has('events') || has('orders') ? (['enrich'] as const) : []),
      ...(has('events') ? (['aggregate'] as const) : []),
      ...(has('telemetry') ? (['alerting'] as const) : []),
    ];
    const started = await Promise.allSettled(
      names.map(async (name) => {
        const fn = await LocalFunction.start(name, config, endpoints, logDir);
        functions.set(name, fn);
        cleanups.push({ name: `function ${name}`, run: () => fn.stop() });
      }),
    );
    const fnFailed = started.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (fnFailed.length > 0) throw new Error(fnFailed.map((f) => (f.reason as Error).message).join('\n'));
    out.line(
      `functions: ${names.join(', ')} (worker threads; mappings from ${config.envName}: ${names
        .filter((n) => n !== 'ingest')
        .map((n) => {
          const c = n === 'alerting' ? config.telemetry.alerting.consumer : config.events.consumers[n];
          return `${n} batch ${c.batchSize} window ${c.maxBatchingWindowSeconds} s`;
        })
        .join(', ')})`,
    );

    const engines: LocalEngines = {
      kafka,
      functions,
      ...(connect ? { connect } : {}),
      ...(search ? { opensearch: search } : {}),
      ...(job ? { sessionize: job } : {}),
      ...(bridge ? { bridge, mqttUrl } : {}),
    };
    await deps.beforeGenerators?.(engines);

    // ---- generators ----
    if (signal?.aborted) throw new AbortedError();
    phase = 'running';
    genStart = Date.now();
    if (has('events')) {
      events = new EventsGenerator({
        ingest: functions.get('ingest')!,
        rate: options.eventsRate,
        users: options.users,
        seed: options.seed,
        opensearchUrl: search!.url,
        probeWindow: [...config.events.windows].sort((a, b) => windowSeconds(a)! - windowSeconds(b)!)[0]!,
        probeIntervalMs: config.events.dimensions.includes('type') ? options.probeIntervalMs : 0,
        maxBatchSize: config.ingest.maxBatchSize,
      });
      events.start();
    }
    if (has('orders')) {
      orders = new OrdersGenerator({
        client: db!.client,
        rate: options.ordersRate,
        users: options.users,
        seed: options.seed,
      });
      orders.start();
    }
    if (has('telemetry')) {
      telemetry = new TelemetryGenerator({
        mqttUrl,
        definition: bridgeDefinition,
        devices: options.devices,
        rate: options.readingsRate,
        seed: options.seed,
        telemetry: config.telemetry,
        durationMs: options.durationSeconds * 1000,
        hotShare: options.hotShare,
        prefix: 'device',
      });
      const tg = telemetry;
      cleanups.push({ name: 'devices', run: () => tg.close() });
      await telemetry.start();
      out.line(
        `${options.devices} devices over MQTT; device clocks run ${telemetry.timeScale}x the wall clock (sessions close within the run)`,
      );
      lake!.start(1000);
      lakeTimer = setInterval(() => void readLake(), 10_000);
      snsTimer = setInterval(() => {
        const published = sns!.published;
        for (; snsSeen < published.length; snsSeen++) {
          const id = /Alert id:\s+(\S+)/.exec(published[snsSeen]!.message)?.[1];
          if (id && !alertSeenAt.has(id)) alertSeenAt.set(id, Date.now());
        }
      }, 100);
    }
    progressTimer = setInterval(() => void tick(), deps.progressIntervalMs ?? 2000);
    const during = deps.whileRunning?.(engines).then(
      () => undefined,
      (err: unknown) => void problems.push(`whileRunning: ${(err as Error).message}`),
    );
    await sleep(options.durationSeconds * 1000, signal);
    await during;
    interrupted = signal?.aborted ?? false;
    genEnd = Date.now();

    // ---- drain ----
    phase = 'draining';
    if (progressTimer) clearInterval(progressTimer);
    progressTimer = undefined;
    await Promise.all([events?.stop(), orders?.stop(), telemetry?.stop()]);
    out.line(
      `generators stopped${interrupted ? ' (interrupted)' : ''}; draining (at most ${options.drainSeconds} s)` +
        (telemetry ? `; every device sent its closing reading` : ''),
    );
    const drainDeadline = Date.now() + options.drainSeconds * 1000;
    let stableRounds = 0;
    let previous = '';
    while (Date.now() < drainDeadline) {
      await sleep(2000);
      if (lake) await readLake();
      const s = await snapshot();
      if (s) out.progress(s);
      const lagsZero = Object.values(lastLags).every((l) => l === 0);
      const probesDone = (events?.pendingProbes ?? 0) === 0;
      const lakeDone =
        !telemetry ||
        lakeReadings(lakeRows) +
          telemetry.counters.closingReadings +
          (lastCounts[topicName('dlqSessionize')] ?? 0) >=
          (lastCounts[topicName('telemetryRaw')] ?? 0);
      const bridgeDone = !bridge || bridge.counters.inFlight === 0;
      const snsDone =
        !sns || sns.published.length >= (functions.get('alerting')?.metrics.AlertsPublished ?? 0);
      const fingerprint = JSON.stringify([lastCounts, lakeRows.length]);
      stableRounds = fingerprint === previous ? stableRounds + 1 : 0;
      previous = fingerprint;
      if (lagsZero && probesDone && lakeDone && bridgeDone && snsDone && stableRounds >= 1) {
        drained = true;
        break;
      }
    }
    drainEnd = Date.now();
    phase = 'stopping';
    if (progressTimer) clearInterval(progressTimer);
    progressTimer = undefined;
    out.line(
      drained
        ? 'drained: every consumer group caught up'
        : `drain time limit (${options.drainSeconds} s) reached`,
    );

    report = await buildReport();
  } catch (err) {
    if (!(err instanceof AbortedError)) {
      problems.push((err as Error).message);
      out.line(`failed: ${(err as Error).message}`);
    } else interrupted = true;
  } finally {
    phase = 'stopping';
    for (const t of [progressTimer, lakeTimer, snsTimer]) if (t) clearInterval(t);
    lake?.stop();
    await events?.close();
    if (!report) {
      try {
        report = await buildReport();
      } catch (err) {
        problems.push(`building the report: ${(err as Error).message}`);
      }
    }
    out.line(
      'stopping: generators, functions, bridge, job, Connect, database, OpenSearch, dynalite, Kafka ...',
    );
    for (const step of cleanups.reverse()) {
      try {
        await step.run();
      } catch (err) {
        const message = `stopping ${step.name}: ${(err as Error).message.split('\n')[0]}`;
        problems.push(message);
        out.line(message);
      }
    }
    if (!options.keep) rmSync(options.dir, { recursive: true, force: true });
  }
  const final = report ?? emptyReport();
  return { ...final, problems: [...problems], wallSeconds: (Date.now() - t0) / 1000 };

  // ---- the report ----
  async function buildReport(): Promise<LocalReport> {
    const counts = admin ? await topicCounts(admin) : {};
    const brokers = kafka ? [kafka.bootstrap] : [];
    const read = async (topic: string): Promise<Awaited<ReturnType<typeof readTopic>>> =>
      (counts[topic] ?? 0) === 0
        ? []
        : readTopic({
            brokers,
            topic,
            fromBeginning: true,
            toEnd: true,
            timeoutMs: 60_000,
            clientId: 'local-report',
          });
    const dlqBySource = async (id: TopicId): Promise<Record<string, number>> => {
      const by: Record<string, number> = {};
      for (const r of await read(topicName(id))) {
        const source = r.headers['dlq.source.topic'] ?? 'on-failure batch records';
        by[source] = (by[source] ?? 0) + 1;
      }
      return by;
    };
    const metrics = (name: FunctionName): Record<string, number> => functions.get(name)?.metrics ?? {};
    // Records each mapping handed its function again (by source topic): in the function's outputs,
    // not in the topic's count.
    const again: Record<string, number> = {};
    const mappings: MappingStats[] = [];
    for (const [name, fn] of functions) {
      const pollers = await fn.pollerCounters().catch(() => ({}) as Record<string, PollerCounters>);
      for (const [topic, p] of Object.entries(pollers)) {
        again[topic] = (again[topic] ?? 0) + p.redelivered + p.retried;
        mappings.push({
          function: name,
          topic,
          batches: p.batches,
          records: p.records,
          invocations: p.invocations,
          failures: p.failures,
          handlerMs: p.handlerMs,
        });
      }
    }
    const againNote = (id: TopicId): string =>
      (again[topicName(id)] ?? 0) > 0
        ? `; ${again[topicName(id)]} handed to the function again (at least once: a commit lost to a restart, or a retried invocation)`
        : '';
    const steps: StepBalance[] = [];
    const sinks: Record<string, number | string> = {};
    const latencyNotes: string[] = [];
    const c = (id: TopicId): number => counts[topicName(id)] ?? 0;

    if (events) {
      const refused = Object.values(events.counters.refused).reduce((a, b) => a + b, 0);
      steps.push(
        balance(
          'app clients -> ingest',
          events.counters.sent,
          { accepted: events.counters.accepted, refused },
          0,
          [
            refused > 0 ? `refused by status: ${JSON.stringify(events.counters.refused)}` : '',
            events.counters.retries > 0
              ? `${events.counters.retries} requests sent again after a 503 (the same events)`
              : '',
          ]
            .filter(Boolean)
            .join('; ') || undefined,
        ),
      );
      steps.push(
        balance(
          `ingest -> ${topicName('eventsUser')}`,
          events.counters.accepted,
          { records: c('eventsUser') },
          0,
        ),
      );
    }
    const enrichDlq = functions.has('enrich') ? await dlqBySource('dlqEnrich') : {};
    const enrich = metrics('enrich');
    if (events) {
      steps.push(
        balance(
          `enrich: ${topicName('eventsUser')}`,
          c('eventsUser'),
          { enriched: enrich.EventsEnriched ?? 0, 'duplicates dropped': enrich.DuplicateEvents ?? 0 },
          enrichDlq[topicName('eventsUser')] ?? 0,
          `${topicName('eventsEnriched')} holds ${c('eventsEnriched')}${againNote('eventsUser')}`,
          again[topicName('eventsUser')],
        ),
      );
    }
    if (orders) {
      const cdc = await read(topicName('cdcOrders'));
      const tombstones = cdc.filter((r) => r.value === null).length;
      steps.push(
        balance(
          `Debezium: public.orders -> ${topicName('cdcOrders')}`,
          orders.expectedRecords,
          { 'change records': cdc.length - tombstones, tombstones },
          0,
          `${orders.counters.inserts} inserts, ${orders.counters.updates} updates, ${orders.counters.deletes} deletes committed; a delete is a record and a tombstone`,
        ),
      );
      steps.push(
        balance(
          `enrich: ${topicName('cdcOrders')}`,
          c('cdcOrders'),
          {
            applied: enrich.OrderChangesApplied ?? 0,
            'older, skipped': enrich.OrderChangesSkipped ?? 0,
            tombstones: (enrich.TombstonesApplied ?? 0) + (enrich.TombstonesSkipped ?? 0),
          },
          enrichDlq[topicName('cdcOrders')] ?? 0,
          againNote('cdcOrders').slice(2) || undefined,
          again[topicName('cdcOrders')],
        ),
      );
    }
    if (enrichDlq['on-failure batch records'])
      problems.push(
        `${topicName('dlqEnrich')} holds ${enrichDlq['on-failure batch records']} on-failure batch records`,
      );
    if (events) {
      const aggregate = metrics('aggregate');
      const aggDlq = await dlqBySource('dlqAggregate');
      steps.push(
        balance(
          `aggregate: ${topicName('eventsEnriched')}`,
          c('eventsEnriched'),
          { applied: aggregate.EventsCounted ?? 0, 'duplicates skipped': aggregate.DuplicateEvents ?? 0 },
          Object.values(aggDlq).reduce((a, b) => a + b, 0),
          `${aggregate.WindowsEmitted ?? 0} window versions emitted, ${aggregate.LateEvents ?? 0} window contributions too late for a closed window${againNote('eventsEnriched')}${(again[topicName('eventsEnriched')] ?? 0) > 0 ? "; a record handed again at the same offset is applied again, and the windows' offset marks keep it out of their counts" : ''}`,
          again[topicName('eventsEnriched')],
        ),
      );
      const aggregates = await read(topicName('eventsAggregates'));
      const keys = new Set(aggregates.map((r) => r.key?.toString()));
      let docs = 0;
      let top = '';
      if (search) {
        const client = new SearchClient({ node: search.url });
        try {
          await client.indices.refresh({ index: `${AGGREGATES_INDEX_PREFIX}-*` });
          docs = Number((await client.count({ index: `${AGGREGATES_INDEX_PREFIX}-*` })).body.count);
          const res = await client.search({
            index: `${AGGREGATES_INDEX_PREFIX}-*`,
            body: { size: 3, query: { term: { dimension: 'country' } }, sort: [{ events: 'desc' }] },
          });
          top = (res.body.hits.hits as { _source?: { windowKey?: string; events?: number } }[])
            .map((h) => `${h._source?.windowKey} events=${h._source?.events}`)
            .join('; ');
        } finally {
          await client.close();
        }
      }
      steps.push(
        balance(
          `aggregate -> OpenSearch`,
          keys.size,
          { documents: docs },
          0,
          `distinct windowKeys on ${topicName('eventsAggregates')} = documents`,
        ),
      );
      sinks['OpenSearch documents'] = docs;
      sinks[`${topicName('eventsAggregates')} distinct windowKeys`] = keys.size;
      sinks['Snowflake'] =
        `configuration-checked only: the connector would read ${topicName('eventsAggregates')} (${c('eventsAggregates')} records); no Snowflake runs here`;
      if (top) sinks['OpenSearch: busiest country windows'] = top;
    }
    if (telemetry && bridge) {
      steps.push(
        balance(
          'devices -> MQTT bridge',
          telemetry.counters.acked,
          {
            [`to ${topicName('telemetryRaw')}`]: bridge.counters.delivered,
            'error path': bridge.counters.errored,
          },
          0,
          `${topicName('telemetryRaw')} holds ${c('telemetryRaw')}; ${telemetry.counters.failed} publishes failed`,
        ),
      );
      const gapMs = config.telemetry.sessionGapSeconds * 1000;
      const lastClosed = new Map<string, number>();
      for (const { row } of lakeRows) {
        const device = String(row.deviceId);
        const lastReading = Date.parse(String(row.sessionEnd)) - gapMs;
        lastClosed.set(device, Math.max(lastClosed.get(device) ?? -Infinity, lastReading));
      }
      let open = 0;
      for (const key of telemetry.publishedAt.keys()) {
        const [device, ts] = key.split('|') as [string, string];
        if (Date.parse(ts) > (lastClosed.get(device) ?? -Infinity)) open++;
      }
      steps.push(
        balance(
          `sessionize: ${topicName('telemetryRaw')}`,
          c('telemetryRaw'),
          { 'in closed sessions (lake)': lakeReadings(lakeRows), 'in open sessions': open },
          c('dlqSessionize'),
          `${lakeRows.length} sessions in the lake; open: readings after their device's last closed session (the closing readings: ${telemetry.counters.closingReadings})`,
        ),
      );
      const alerting = metrics('alerting');
      steps.push(
        balance(
          `alerting: ${topicName('telemetryAlerts')}`,
          c('telemetryAlerts'),
          {
            'published to SNS': alerting.AlertsPublished ?? 0,
            'duplicates dropped': alerting.AlertsDuplicate ?? 0,
          },
          c('dlqAlerting'),
          `the SNS stand-in received ${sns?.published.length ?? 0}${againNote('telemetryAlerts')}`,
          again[topicName('telemetryAlerts')],
        ),
      );
      sinks['lake sessions'] = lakeRows.length;
      sinks['lake files'] = new Set(lakeRows.map((r) => r.file)).size;
      sinks['alerts published (SNS stand-in)'] = sns?.published.length ?? 0;
      sinks['bridge error documents'] = bridge.counters.errored;
    }

    // Latencies.
    const telemetryToLake = new LatencySamples();
    const readingToAlert = new LatencySamples();
    if (telemetry && lake) {
      const gapMs = config.telemetry.sessionGapSeconds * 1000;
      for (const { file, row } of lakeRows) {
        const last = new Date(Date.parse(String(row.sessionEnd)) - gapMs).toISOString();
        const publishedAt = telemetry.publishedAt.get(`${String(row.deviceId)}|${last}`);
        const seen = lake.firstSeen.get(file);
        if (publishedAt !== undefined && seen !== undefined) telemetryToLake.add(seen - publishedAt);
      }
      for (const r of await read(topicName('telemetryAlerts'))) {
        try {
          const alert = JSON.parse(r.value?.toString() ?? '') as {
            alertId: string;
            deviceId: string;
            rule: string;
            details?: { ts?: string };
          };
          if (alert.rule !== 'temperature_high' || !alert.details?.ts) continue;
          const publishedAt = telemetry.publishedAt.get(`${alert.deviceId}|${alert.details.ts}`);
          const seen = alertSeenAt.get(alert.alertId);
          if (publishedAt !== undefined && seen !== undefined) readingToAlert.add(seen - publishedAt);
        } catch {
          // Not an alert of the contract: counted on its topic, not timed.
        }
      }
      const t = config.telemetry;
      latencyNotes.push(
        `telemetry -> lake includes waiting for the session gap and the out-of-orderness bound on the device clock ((${t.sessionGapSeconds} + ${t.maxOutOfOrdernessSeconds}) s / ${telemetry.timeScale} = ${((t.sessionGapSeconds + t.maxOutOfOrdernessSeconds) / telemetry.timeScale).toFixed(1)} s of wall time here) and the next checkpoint (${options.checkpointSeconds} s here; deployed ${t.flink.checkpointIntervalSeconds} s); sessions still open at the stop closed only with the closing readings`,
      );
      latencyNotes.push(
        'reading -> alert: a hot reading published over MQTT until the alerting function published its alert to SNS (the stand-in, seen every 100 ms)',
      );
    }
    if (events)
      latencyNotes.push(
        'app event -> OpenSearch: from the ingest call of a probe event to the first realtime GET (_mget, every 100 ms) that finds its window document',
      );
    const whereToLook: string[] = [];
    if (search)
      whereToLook.push(
        `OpenSearch (while a run is up): curl -s '${search.url}/${AGGREGATES_INDEX_PREFIX}-*/_search?q=dimension:type&sort=events:desc&size=5&pretty'`,
      );
    if (lake)
      whereToLook.push(
        `the lake: ${relative(process.cwd(), lakeDir)}/dt=YYYY-MM-DD/hr=HH/ (Parquet${options.keep ? '' : '; add --keep to keep it'})`,
      );
    whereToLook.push(
      `logs: ${relative(process.cwd(), logDir)}/ (functions), ${relative(process.cwd(), options.dir)}/kafka/logs${options.keep ? '' : ' (removed at the end: --keep keeps them)'}`,
    );
    for (const d of extraDirs) whereToLook.push(`kept: ${relative(process.cwd(), d)}`);
    whereToLook.push(
      `read a topic while a run is up: npm run topic:read -- --brokers ${kafka?.bootstrap ?? '<broker>'} --topic ${topicName('eventsAggregates')} --from-beginning --max 5`,
    );

    const topics: Record<string, number> = {};
    for (const [t, n] of Object.entries(counts)) if (n > 0) topics[t] = n;
    return {
      envName: config.envName,
      seed: options.seed,
      sources: options.sources,
      interrupted,
      startupSeconds: genStart ? (genStart - t0) / 1000 : (Date.now() - t0) / 1000,
      generateSeconds: genStart ? ((genEnd || Date.now()) - genStart) / 1000 : 0,
      drainSeconds: genEnd ? ((drainEnd || Date.now()) - genEnd) / 1000 : 0,
      drained,
      wallSeconds: (Date.now() - t0) / 1000,
      topics,
      sinks,
      generated: generated(),
      steps,
      mappings,
      balanced: steps.length > 0 && steps.every((s) => s.balanced),
      latency: {
        ...(events?.latency.percentiles() ? { appEventToOpenSearch: events.latency.percentiles()! } : {}),
        ...(telemetryToLake.percentiles() ? { telemetryToLake: telemetryToLake.percentiles()! } : {}),
        ...(readingToAlert.percentiles() ? { readingToAlert: readingToAlert.percentiles()! } : {}),
        notes: latencyNotes,
      },
      whereToLook,
      problems,
    };
  }

  function emptyReport(): LocalReport {
    return {
      envName: config.envName,
      seed: options.seed,
      sources: options.sources,
      interrupted,
      startupSeconds: (Date.now() - t0) / 1000,
      generateSeconds: 0,
      drainSeconds: 0,
      drained: false,
      wallSeconds: (Date.now() - t0) / 1000,
      topics: {},
      sinks: {},
      generated: generated(),
      steps: [],
      mappings: [],
      balanced: false,
      latency: { notes: [] },
      whereToLook: [],
      problems,
    };
  }
}

function lakeReadings(rows: readonly LakeRow[]): number {
  return rows.reduce((sum, r) => sum + Number(r.row.readings ?? 0), 0);
}

/** The run was aborted before the generators started. */
class AbortedError extends Error {
  constructor() {
    super('aborted');
  }
}
