/**
 * The sessionize job, exactly, on the local mini cluster (the jar, SQL and properties AWS gets, the
 * endpoints swapped): the fixture of ./fixtures/telemetry.ts goes into telemetry.raw, and the
 * sessions committed to the lake, the alerts on telemetry.alerts and the dead letters in
 * dlq.sessionize must be exactly the hand-written answers there (whole sets, no more, no less).
 *
 * 1. One partition of telemetry.raw, so that the watermark follows the produce order alone: every
 *    rule of docs/telemetry-path.md at its edges (the fixture explains each record).
 * 2. A quiet partition: telemetry.raw with three partitions, two of which get nothing; with the idle
 *    timeout the watermark moves on and the sessions close.
 * 3. The same without the idle timeout: nothing closes once the job has read (and committed) every
 *    record, until the quiet partitions get a reading each; then the same sessions close.
 *
 * The output is polled until the expected counts arrived (a generous deadline), then read once more
 * after a few checkpoints to catch anything beyond them, then compared.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { consumerGroupId } from '../../lib/events/consumer-groups';
import { topicName } from '../../lib/topics/topic-specs';
import { readTopic, type TopicRecord } from '../../tools/read-topic';
import { bootstrap, connectAdmin, deleteTopicsAndWait, kafkaClient, waitForLeaders } from './harness/clients';
import {
  buildSessionizeJar,
  readLakeSessions,
  startSessionize,
  type LakeSession,
  type SessionizeRun,
} from './harness/flink';
import { ENGINES_DIR } from './harness/kafka';
import { startLocalAlerting, type LocalAlerting } from './harness/alerting';
import {
  EXACT_ALERTS,
  EXACT_DEAD_LETTERS,
  EXACT_RECORDS,
  EXACT_SESSIONS,
  FIXTURE_TELEMETRY,
  QUIET_PARTITIONS,
  QUIET_RECORDS,
  QUIET_SESSIONS,
  QUIET_WAKE_RECORDS,
  type ExpectedAlert,
  type ExpectedDeadLetter,
  type ExpectedSession,
  type FixtureRecord,
} from './fixtures/telemetry';

const RAW = topicName('telemetryRaw');
const ALERTS = topicName('telemetryAlerts');
const DLQ = topicName('dlqSessionize');
/** The alerting consumer's dead-letter topic (the alerting phase of the exact test). */
const ALERTING_DLQ = topicName('dlqAlerting');
const TOPICS = [RAW, ALERTS, DLQ, ALERTING_DLQ];
const JOB_GROUP = consumerGroupId('sessionize', 'telemetryRaw');
const ALERTING_GROUP = consumerGroupId('alerting', 'telemetryAlerts');

/** How long the expected output may take to arrive (the jar build is not counted: beforeAll). */
const OUTPUT_DEADLINE_MS = 300_000;
const CHECKPOINT_INTERVAL_MS = 1000;
/** After the expected counts arrived: a few checkpoints more, to see records beyond them. */
const SETTLE_MS = 5 * CHECKPOINT_INTERVAL_MS;
/** Output short of the expected counts and unchanged for this long: compare it (and fail) now. */
const STABLE_MS = 90_000;

/** The six reading fields of step 2, in the doc's order (the first failing one is named). */
const FIELDS = ['deviceId', 'ts', 'temperature', 'humidity', 'battery', 'status'] as const;
const CONTRACT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let admin: Admin;
let job: SessionizeRun | undefined;
let alerting: LocalAlerting | undefined;
const lakeDirs: string[] = [];

/** A test's budget: starting the job, the output deadline, settling and reading. */
const TEST_TIMEOUT_MS = OUTPUT_DEADLINE_MS + 300_000;

beforeAll(async () => {
  admin = await connectAdmin();
  // The first run may build the job's jar (mvn package): not part of a test's budget.
  await buildSessionizeJar();
}, 900_000);

afterEach(async () => {
  await job?.stop();
  job = undefined;
  await alerting?.stop();
  alerting = undefined;
});

afterAll(async () => {
  for (const dir of lakeDirs) rmSync(dir, { recursive: true, force: true });
  if (admin) {
    await deleteTopicsAndWait(admin, TOPICS);
    await admin.deleteGroups([JOB_GROUP, ALERTING_GROUP]).catch(() => undefined);
    await admin.disconnect();
  }
});

/** Fresh catalog topics (telemetry.raw with `rawPartitions`), no committed offsets of the job. */
async function freshTopics(rawPartitions: number): Promise<void> {
  await deleteTopicsAndWait(admin, TOPICS);
  // The job's committed offsets must not outlive the topic: a first start reads from the earliest.
  await admin.deleteGroups([JOB_GROUP, ALERTING_GROUP]).catch(() => undefined);
  // kafkajs' own leader wait gives up on the UNKNOWN_TOPIC_OR_PARTITION of a just re-created topic.
  await admin.createTopics({
    waitForLeaders: false,
    topics: TOPICS.map((topic) => ({
      topic,
      numPartitions: topic === RAW ? rawPartitions : 1,
      replicationFactor: 1,
      // The fixture's records carry their readings' times (2026-11-25) as CreateTime: under the
      // broker's 7-day default retention they expired, and the broker's retention check (every
      // 5 minutes) deleted them before the job read them. Kept forever here.
      configEntries: [{ name: 'retention.ms', value: '-1' }],
    })),
  });
  await waitForLeaders(admin, TOPICS);
}

/** Produces the records to partition 0 of telemetry.raw in their order, then checks their offsets. */
async function produce(records: readonly FixtureRecord[]): Promise<void> {
  records.forEach((r, i) => {
    if (r.offset !== i) throw new Error(`fixture record ${i} says offset ${r.offset}`);
  });
  const producer = kafkaClient('telemetry-exact').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({
      topic: RAW,
      acks: -1,
      messages: records.map((r) => ({
        partition: 0,
        key: r.key,
        value: r.value,
        timestamp: String(Date.parse(r.timestamp)),
      })),
    });
  } finally {
    await producer.disconnect();
  }
  const ends = await topicOffsets(RAW);
  expect(ends.map((p) => [p.partition, p.low, p.high])).toEqual(
    ends.map((p) => [p.partition, '0', p.partition === 0 ? String(records.length) : '0']),
  );
}

/**
 * A topic's offsets; retried while the admin's metadata still knows the topic's previous incarnation
 * (a just re-created topic answers NOT_LEADER / UNKNOWN_TOPIC_OR_PARTITION for a moment).
 */
async function topicOffsets(topic: string): Promise<Awaited<ReturnType<Admin['fetchTopicOffsets']>>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (err) {
      if (attempt >= 20) throw err;
      await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Every record of a topic as it is now (read to the end offsets it had when reading started). */
function readAll(topic: string): Promise<TopicRecord[]> {
  return readTopic({
    brokers: [bootstrap()],
    topic,
    fromBeginning: true,
    toEnd: true,
    timeoutMs: 30_000,
    clientId: 'telemetry-exact-reader',
  });
}

interface Output {
  readonly sessions: LakeSession[];
  readonly alerts: TopicRecord[];
  readonly deadLetters: TopicRecord[];
}

async function readOutput(lakeDir: string): Promise<Output> {
  const [sessions, alerts, deadLetters] = await Promise.all([
    readLakeSessions(lakeDir),
    readAll(ALERTS),
    readAll(DLQ),
  ]);
  return { sessions, alerts, deadLetters };
}

/**
 * Polls the output until it holds at least the expected counts, then waits SETTLE_MS and reads it
 * once more: what the test compares. Stops polling (and compares what is there, for the diff) when
 * the deadline passed, the job exited, or the output stayed the same for STABLE_MS while short of
 * the counts (every record was produced before the job started: a job that wrote nothing new for
 * that long is not about to).
 */
async function awaitOutput(
  run: SessionizeRun,
  expected: { sessions: number; alerts: number; deadLetters: number },
): Promise<Output> {
  let exited = false;
  void run.exited.then(() => (exited = true));
  const deadline = Date.now() + OUTPUT_DEADLINE_MS;
  let last = '';
  let lastChange = Date.now();
  for (;;) {
    const out = await readOutput(run.lakeDir);
    const counts = [out.sessions.length, out.alerts.length, out.deadLetters.length].join(',');
    if (counts !== last) [last, lastChange] = [counts, Date.now()];
    const stuck = counts !== '0,0,0' && Date.now() - lastChange > STABLE_MS;
    const complete =
      out.sessions.length >= expected.sessions &&
      out.alerts.length >= expected.alerts &&
      out.deadLetters.length >= expected.deadLetters;
    if (complete || stuck || exited || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 3000));
  }
  if (exited) throw new Error(`the sessionize job exited; log ${run.logFile}:\n${run.logTail(80)}`);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  return readOutput(run.lakeDir);
}

/** Sessions in a stable order (device, start), for an exact comparison of the whole set. */
function sortSessions<T extends { row: Record<string, unknown> }>(sessions: readonly T[]): T[] {
  const key = (s: T): string => `${String(s.row.deviceId)}|${String(s.row.sessionStart)}`;
  return [...sessions].sort((a, b) => key(a).localeCompare(key(b)));
}

/** The contract's alertId: lowercase hex SHA-256 of `<rule>|<deviceId>|<anchor>`. */
function alertId(rule: string, deviceId: string, anchor: string): string {
  return createHash('sha256').update(`${rule}|${deviceId}|${anchor}`).digest('hex');
}

interface AlertRecord {
  readonly key: string | null;
  readonly value: unknown;
}

function expectedAlertRecord(a: ExpectedAlert): AlertRecord {
  return {
    key: a.deviceId,
    value: {
      alertId: alertId(a.rule, a.deviceId, a.anchor),
      deviceId: a.deviceId,
      rule: a.rule,
      severity: a.severity,
      at: a.at,
      details: a.details,
    },
  };
}

function actualAlertRecord(r: TopicRecord): AlertRecord {
  let value: unknown;
  try {
    value = JSON.parse(r.value?.toString('utf8') ?? 'null');
  } catch {
    value = `not JSON: ${r.value?.toString('utf8')}`;
  }
  return { key: r.key === null ? null : r.key.toString('utf8'), value };
}

function sortAlerts(alerts: readonly AlertRecord[]): AlertRecord[] {
  const key = (a: AlertRecord): string => JSON.stringify(a);
  return [...alerts].sort((x, y) => key(x).localeCompare(key(y)));
}

/** Bytes as readable text when they are UTF-8 (exactly), else as hex: an exact comparison either way. */
function bytes(b: Buffer | null): string | null {
  if (b === null) return null;
  const text = b.toString('utf8');
  return Buffer.from(text, 'utf8').equals(b) ? text : `hex:${b.toString('hex')}`;
}

/** The fields of step 2 a `dlq.detail` names (as whole words). */
function fieldsNamed(detail: string | undefined): string[] {
  return FIELDS.filter((f) => new RegExp(`(^|[^A-Za-z])${f}([^A-Za-z]|$)`).test(detail ?? ''));
}

/** What the test compares of a dead letter (`dlq.at` is checked apart: a processing time). */
interface DeadLetterView {
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string>;
  /** schema_violation: the fields its detail names; otherwise whether it has a detail at all. */
  readonly detail: readonly string[] | 'present' | 'missing';
}

function expectedDeadLetter(d: ExpectedDeadLetter): DeadLetterView {
  const source = EXACT_RECORDS[d.offset];
  if (!source) throw new Error(`no fixture record at offset ${d.offset}`);
  return {
    key: bytes(source.key),
    value: bytes(source.value),
    headers: {
      'dlq.reason': d.reason,
      'dlq.source.topic': RAW,
      'dlq.source.partition': '0',
      'dlq.source.offset': String(d.offset),
      'dlq.consumer': 'sessionize',
    },
    detail: d.reason === 'schema_violation' ? [d.field] : 'present',
  };
}

function actualDeadLetter(r: TopicRecord): DeadLetterView {
  const headers = { ...r.headers };
  const detail = headers['dlq.detail'];
  delete headers['dlq.at'];
  delete headers['dlq.detail'];
  return {
    key: bytes(r.key),
    value: bytes(r.value),
    headers,
    detail:
      headers['dlq.reason'] === 'schema_violation'
        ? fieldsNamed(detail)
        : detail === undefined || detail === ''
          ? 'missing'
          : 'present',
  };
}

function sortDeadLetters(letters: readonly DeadLetterView[]): DeadLetterView[] {
  const key = (d: DeadLetterView): number => Number(d.headers['dlq.source.offset']);
  return [...letters].sort((a, b) => key(a) - key(b));
}

/** Adds the job's log to a failed comparison. */
function withLog(run: SessionizeRun, check: () => void): void {
  try {
    check();
  } catch (err) {
    // The end of the log without the once-a-second checkpoint lines.
    const tail = run
      .logTail(2000)
      .split('\n')
      .filter((line) => !/checkpoint|Name collision/i.test(line))
      .slice(-30)
      .join('\n');
    (err as Error).message += `\n\njob log ${run.logFile} (end, without checkpoint lines):\n${tail}`;
    throw err;
  }
}

function newLakeDir(name: string): string {
  const dir = mkdtempSync(join(ENGINES_DIR, `lake-${name}-`));
  lakeDirs.push(dir);
  return dir;
}

test(
  'one partition: sessions, alerts and dead letters are exactly the hand-written answers, and each alertId is published once',
  async () => {
    await freshTopics(1);
    await produce(EXACT_RECORDS);
    const run = await startSessionize({
      bootstrap: bootstrap(),
      lakeDir: newLakeDir('exact'),
      telemetry: FIXTURE_TELEMETRY,
      checkpointIntervalMs: CHECKPOINT_INTERVAL_MS,
      parallelism: 1,
    });
    job = run;
    await run.started;

    const out = await awaitOutput(run, {
      sessions: EXACT_SESSIONS.length,
      alerts: EXACT_ALERTS.length,
      deadLetters: EXACT_DEAD_LETTERS.length,
    });

    withLog(run, () => {
      // One comparison of the whole output, so that a failure shows every difference at once:
      // - sessions: the committed Parquet rows with their dt/hr partition (the START hour);
      // - alerts: key deviceId and the contract's JSON value, each exactly once;
      // - dead letters: key and value bytes untouched, every dlq.* header but dlq.at (below).
      expect({
        sessions: sortSessions(out.sessions),
        alerts: sortAlerts(out.alerts.map(actualAlertRecord)),
        deadLetters: sortDeadLetters(out.deadLetters.map(actualDeadLetter)),
      }).toEqual({
        sessions: sortSessions<ExpectedSession>(EXACT_SESSIONS),
        alerts: sortAlerts(EXACT_ALERTS.map(expectedAlertRecord)),
        deadLetters: sortDeadLetters(EXACT_DEAD_LETTERS.map(expectedDeadLetter)),
      });
      for (const r of out.deadLetters) {
        expect(Object.keys(r.headers).sort()).toEqual([
          'dlq.at',
          'dlq.consumer',
          'dlq.detail',
          'dlq.reason',
          'dlq.source.offset',
          'dlq.source.partition',
          'dlq.source.topic',
        ]);
        const at = r.headers['dlq.at'] ?? '';
        expect(at).toMatch(CONTRACT_TIME);
        expect(new Date(at).toISOString()).toBe(at);
      }
    });

    // The alerts, through the alerting function (its handler behind the local event-source poller,
    // claims in dynalite) to the SNS stand-in; then all of them delivered a second time, as after a
    // restore of the job (at least once): one publication per distinct alertId.
    await run.stop();
    job = undefined;
    alerting = await startLocalAlerting({ table: 'alerting-state-telemetry-test' });
    await alerting.poller.untilCaughtUp(120_000);
    const producer = kafkaClient('telemetry-alerts-again').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({
        topic: ALERTS,
        acks: -1,
        messages: out.alerts.map((a) => ({ partition: a.partition, key: a.key, value: a.value })),
      });
    } finally {
      await producer.disconnect();
    }
    await alerting.poller.untilCaughtUp(120_000);
    const topicArn = alerting.topicArn;
    const published = alerting.sns.published.map((m) => ({
      topicArn: m.topicArn,
      alertId: /^Alert id: *([0-9a-f]{64})$/m.exec(m.message)?.[1],
      rule: m.attributes.rule?.value,
      severity: m.attributes.severity?.value,
      deviceId: m.attributes.deviceId?.value,
    }));
    const byId = (a: { alertId?: string }, b: { alertId?: string }): number =>
      (a.alertId ?? '').localeCompare(b.alertId ?? '');
    expect({ published: published.sort(byId), refused: alerting.sns.refused }).toEqual({
      published: EXACT_ALERTS.map((a) => ({
        topicArn,
        alertId: alertId(a.rule, a.deviceId, a.anchor),
        rule: a.rule,
        severity: a.severity,
        deviceId: a.deviceId,
      })).sort(byId),
      refused: [],
    });
    expect(await readAll(ALERTING_DLQ)).toEqual([]);
  },
  TEST_TIMEOUT_MS,
);

test(
  'a partition with no reading: the idle timeout lets the watermark move and the sessions close',
  async () => {
    await freshTopics(QUIET_PARTITIONS);
    await produce(QUIET_RECORDS);
    const run = await startSessionize({
      bootstrap: bootstrap(),
      lakeDir: newLakeDir('quiet'),
      telemetry: { ...FIXTURE_TELEMETRY, idleTimeoutSeconds: 3 },
      checkpointIntervalMs: CHECKPOINT_INTERVAL_MS,
      parallelism: 1,
    });
    job = run;
    await run.started;

    const out = await awaitOutput(run, { sessions: QUIET_SESSIONS.length, alerts: 0, deadLetters: 0 });
    withLog(run, () => {
      expect({
        sessions: sortSessions(out.sessions),
        alerts: out.alerts.map(actualAlertRecord),
        deadLetters: out.deadLetters.map(actualDeadLetter),
      }).toEqual({ sessions: sortSessions<ExpectedSession>(QUIET_SESSIONS), alerts: [], deadLetters: [] });
    });
  },
  TEST_TIMEOUT_MS,
);

/** Waits until the job has committed (on a checkpoint) partition 0 of telemetry.raw up to `end`. */
async function untilJobCommitted(run: SessionizeRun, end: number): Promise<void> {
  const deadline = Date.now() + OUTPUT_DEADLINE_MS;
  for (;;) {
    const [topic] = await admin.fetchOffsets({ groupId: JOB_GROUP, topics: [RAW] });
    const at = Number(topic?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
    if (at >= end) return;
    if (Date.now() > deadline)
      throw new Error(`the job committed partition 0 up to ${at} only, not ${end}\n${run.logTail(40)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

test(
  'without the idle timeout, quiet partitions hold the watermark until each gets a reading',
  async () => {
    await freshTopics(QUIET_PARTITIONS);
    await produce(QUIET_RECORDS);
    const run = await startSessionize({
      bootstrap: bootstrap(),
      lakeDir: newLakeDir('held'),
      telemetry: { ...FIXTURE_TELEMETRY, idleTimeoutSeconds: 3600 },
      checkpointIntervalMs: CHECKPOINT_INTERVAL_MS,
      parallelism: 1,
    });
    job = run;
    await run.started;

    // Every record read and a checkpoint taken after it; then a few checkpoints more: nothing closed.
    await untilJobCommitted(run, QUIET_RECORDS.length);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const held = await readOutput(run.lakeDir);
    withLog(run, () => {
      expect({ sessions: held.sessions, alerts: held.alerts, deadLetters: held.deadLetters }).toEqual({
        sessions: [],
        alerts: [],
        deadLetters: [],
      });
    });

    const producer = kafkaClient('telemetry-wake').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({
        topic: RAW,
        acks: -1,
        messages: QUIET_WAKE_RECORDS.map((r) => ({
          partition: r.partition,
          key: r.key,
          value: r.value,
          timestamp: String(Date.parse(r.timestamp)),
        })),
      });
    } finally {
      await producer.disconnect();
    }
    const out = await awaitOutput(run, { sessions: QUIET_SESSIONS.length, alerts: 0, deadLetters: 0 });
    withLog(run, () => {
      expect({
        sessions: sortSessions(out.sessions),
        alerts: out.alerts.map(actualAlertRecord),
        deadLetters: out.deadLetters.map(actualDeadLetter),
      }).toEqual({ sessions: sortSessions<ExpectedSession>(QUIET_SESSIONS), alerts: [], deadLetters: [] });
    });
  },
  TEST_TIMEOUT_MS,
);
