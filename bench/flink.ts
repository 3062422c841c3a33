/**
 * Sessionize throughput: events per second of the sessionize job (flink-sql/, the jar, SQL and
 * properties of the engine tests) on the local mini cluster, beside a pass-through job in the same
 * run: the same Kafka source table and the same Parquet lake sink (taken from sessionize.sql), every
 * record written straight to the lake (bench/flink-passthrough.sql). Target: sessionize at least 0.5
 * of the pass-through rate.
 *
 *   npm run bench:flink                          # 200,000 readings, 2 rounds, interleaved
 *   npm run bench:flink -- --records 50000 --rounds 3
 *   npm run bench:flink -- --periodic            # also sessionize with the periodic watermark emit
 *
 * A local Kafka broker is started here; the readings (seeded, tools/prng.ts: 500 devices, a reading
 * every ~10 s of event time each with a pause after every 30, up to 3 s out of order, 1 % duplicates,
 * 0.5 % malformed) are produced once; each run reads them all from the start with its own consumer group and a fresh
 * lake. A run's rate = records / (time from the job's source reading to its consumer group's
 * committed offsets reaching the end). Offsets are committed on checkpoints (every 1 s here), the
 * same for both jobs. Each run prints the load average at its end (the machine may be shared).
 * Never fails on time; exits non-zero when a job fails or the lake is empty.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { Admin } from 'kafkajs';
import { topicName } from '../lib/topics/topic-specs';
import {
  buildSessionizeJar,
  readLakeSessions,
  SESSIONIZE_SQL,
  startSessionize,
} from '../test/engines/harness/flink';
import { ENGINES_DIR, LocalKafka } from '../test/engines/harness/kafka';
import { prng } from '../tools/prng';

const PARTITIONS = 2;

interface Args {
  readonly records: number;
  readonly rounds: number;
  readonly periodic: boolean;
}

function parseArgs(argv: string[]): Args {
  const value = (name: string, fallback: number): number => {
    const i = argv.indexOf(`--${name}`);
    const v = i >= 0 ? Number(argv[i + 1]) : fallback;
    if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
    return v;
  };
  return {
    records: value('records', 200_000),
    rounds: value('rounds', 2),
    periodic: argv.includes('--periodic'),
  };
}

/** The seeded readings: [key, value] pairs, in the order they are produced. */
function readings(count: number): Array<[string, string]> {
  const random = prng(20261125);
  const devices = 500;
  const start = Date.parse('2026-11-25T06:00:00.000Z');
  const out: Array<[string, string]> = [];
  for (let i = 0; out.length < count; i++) {
    const deviceId = `bench-${String(i % devices).padStart(4, '0')}`;
    // every device every ~10 s of event time, up to 3 s out of order (within the 30 s bound); after
    // every 30 readings of a device a pause longer than the session gap, so sessions close
    const round = Math.floor(i / devices);
    const ts = new Date(
      start + round * 10_000 + Math.floor(round / 30) * 400_000 + Math.floor(random() * 3000),
    );
    const roll = random();
    const value =
      roll < 0.005
        ? `{"deviceId":"${deviceId}","ts":` // malformed
        : JSON.stringify({
            deviceId,
            ts: ts.toISOString(),
            temperature: Math.round((15 + random() * 20 + (random() < 0.01 ? 60 : 0)) * 10) / 10,
            humidity: Math.round(random() * 1000) / 10,
            battery: Math.round((5 + random() * 95) * 10) / 10,
            status: random() < 0.05 ? 'error' : 'ok',
            receivedAt: ts.toISOString(),
          });
    out.push([deviceId, value]);
    if (roll > 0.99 && out.length < count) out.push([deviceId, value]); // a duplicate delivery
  }
  return out;
}

/**
 * The functions (CREATE TEMPORARY SYSTEM FUNCTION: the source's computed column calls one) and
 * CREATE TABLE telemetry_raw and lake_sessions of sessionize.sql, then the pass-through INSERT.
 */
function passThroughSql(dir: string): string {
  const sql = readFileSync(SESSIONIZE_SQL, 'utf8');
  const functions = sql.match(/^CREATE TEMPORARY SYSTEM FUNCTION [^;]*;/gm) ?? [];
  const table = (name: string): string => {
    const start = sql.indexOf(`CREATE TABLE ${name} (`);
    const end = sql.indexOf(');', start);
    if (start < 0 || end < 0) throw new Error(`no CREATE TABLE ${name} in ${SESSIONIZE_SQL}`);
    return sql.slice(start, end + 2);
  };
  const insert = readFileSync(resolve(__dirname, 'flink-passthrough.sql'), 'utf8');
  const file = join(dir, 'passthrough.sql');
  writeFileSync(file, [...functions, table('telemetry_raw'), table('lake_sessions'), insert].join('\n\n'));
  return file;
}

function periodicSql(dir: string): string {
  const sql = readFileSync(SESSIONIZE_SQL, 'utf8');
  const onEvent = "'scan.watermark.emit.strategy' = 'on-event'";
  if (!sql.includes(onEvent)) throw new Error(`${SESSIONIZE_SQL} has no ${onEvent}`);
  const file = join(dir, 'sessionize-periodic.sql');
  writeFileSync(file, sql.replace(onEvent, "'scan.watermark.emit.strategy' = 'on-periodic'"));
  return file;
}

async function committedTotal(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

async function timedRun(options: {
  kafka: LocalKafka;
  admin: Admin;
  label: string;
  sqlFile?: string;
  total: number;
  run: number;
  dir: string;
}): Promise<number> {
  const { kafka, admin, label, total } = options;
  const groupId = `bench-flink-${label}-${options.run}`;
  const lakeDir = join(options.dir, `lake-${label}-${options.run}`);
  const job = await startSessionize({
    bootstrap: kafka.bootstrap,
    lakeDir,
    sqlFile: options.sqlFile,
    checkpointIntervalMs: 1000,
    propertyOverrides: { 'source.group-id': groupId },
  });
  try {
    await job.started;
    const t0 = Date.now();
    const topic = topicName('telemetryRaw');
    for (;;) {
      const done = await committedTotal(admin, groupId, topic);
      if (done >= total) break;
      const exited = await Promise.race([
        job.exited,
        new Promise((r) => setTimeout(() => r(undefined), 200)),
      ]);
      if (exited) throw new Error(`${label} job exited during the run:\n${job.logTail()}`);
    }
    const seconds = (Date.now() - t0) / 1000;
    // untimed: the rows of the last closed sessions commit on the next checkpoint
    let rows = 0;
    for (let i = 0; i < 30 && rows === 0; i++) {
      rows = (await readLakeSessions(lakeDir)).length;
      if (rows === 0) await new Promise((r) => setTimeout(r, 1000));
    }
    if (rows === 0) throw new Error(`${label}: no lake rows; log ${job.logFile}`);
    const rate = total / seconds;
    console.log(
      `  ${label.padEnd(20)} run ${options.run}: ${total} records in ${seconds.toFixed(1)} s = ${Math.round(rate)} records/s (${rows} lake rows; load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')})`,
    );
    return rate;
  } finally {
    await job.stop();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = join(ENGINES_DIR, `bench-flink-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  await buildSessionizeJar();
  const kafka = await LocalKafka.start({ heap: '1g' });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = [topicName('telemetryRaw'), topicName('telemetryAlerts'), topicName('dlqSessionize')];
    await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 })),
    });
    const data = readings(args.records);
    const producer = kafka.client('bench-flink').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    for (let i = 0; i < data.length; i += 2000) {
      await producer.send({
        topic: topicName('telemetryRaw'),
        acks: -1,
        messages: data.slice(i, i + 2000).map(([key, value]) => ({ key, value })),
      });
    }
    await producer.disconnect();
    console.log(
      `${data.length} readings on ${PARTITIONS} partitions; ${args.rounds} rounds, interleaved; checkpoints every 1 s, parallelism 1`,
    );

    const variants: Array<{ label: string; sqlFile?: string }> = [
      { label: 'pass-through', sqlFile: passThroughSql(dir) },
      { label: 'sessionize' },
      ...(args.periodic ? [{ label: 'sessionize-periodic', sqlFile: periodicSql(dir) }] : []),
    ];
    const rates = new Map<string, number[]>(variants.map((v) => [v.label, []]));
    for (let run = 1; run <= args.rounds; run++) {
      for (const v of run % 2 === 1 ? variants : [...variants].reverse()) {
        const rate = await timedRun({ kafka, admin, ...v, total: data.length, run, dir });
        rates.get(v.label)?.push(rate);
      }
    }
    const median = (xs: number[]): number => {
      const s = [...xs].sort((a, b) => a - b);
      const m = Math.floor(s.length / 2);
      return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
    };
    const floor = median(rates.get('pass-through') ?? []);
    console.log('median records/s and ratio to the pass-through (target >= 0.5):');
    for (const v of variants) {
      const rate = median(rates.get(v.label) ?? []);
      console.log(
        `  ${v.label.padEnd(20)} ${String(Math.round(rate)).padStart(8)}  ${(rate / floor).toFixed(2)}`,
      );
    }
  } finally {
    await admin.disconnect();
    await kafka.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
