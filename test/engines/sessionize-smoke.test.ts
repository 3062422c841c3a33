/**
 * The sessionize job end to end on the local mini cluster, briefly: the jar, SQL and properties AWS
 * gets (endpoints swapped), three readings of one device, one malformed record, one reading of
 * another device that moves the watermark, a reading from a device clock a day ahead and a normal
 * reading after it. Expected: one session row in the lake, two dead letters with their headers (the
 * reading from the future refused, so that it does not move the watermark), two alerts (the reading
 * after the future one is on time). The exact behaviour of every rule is
 * test/engines/telemetry.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { consumerGroupId } from '../../lib/events/consumer-groups';
import { topicName } from '../../lib/topics/topic-specs';
import { readTopic } from '../../tools/read-topic';
import { bootstrap, connectAdmin, deleteTopicsAndWait, kafkaClient, waitForLeaders } from './harness/clients';
import { ENGINES_DIR } from './harness/kafka';
import { readLakeSessions, startSessionize, type LakeSession, type SessionizeRun } from './harness/flink';

const RAW = topicName('telemetryRaw');
const ALERTS = topicName('telemetryAlerts');
const DLQ = topicName('dlqSessionize');
const TOPICS = [RAW, ALERTS, DLQ];

let admin: Admin;
let job: SessionizeRun | undefined;
let failing: SessionizeRun | undefined;
let lakeDir: string;

beforeAll(async () => {
  admin = await connectAdmin();
  await deleteTopicsAndWait(admin, TOPICS);
  await admin.createTopics({
    topics: TOPICS.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
  });
  await waitForLeaders(admin, TOPICS);
  lakeDir = mkdtempSync(join(ENGINES_DIR, 'lake-smoke-'));
}, 120_000);

afterAll(async () => {
  await job?.stop();
  await failing?.stop();
  if (admin) {
    await deleteTopicsAndWait(admin, TOPICS);
    // The job's committed offsets must not outlive the topic for the next test's first start.
    await admin.deleteGroups([consumerGroupId('sessionize', 'telemetryRaw')]).catch(() => undefined);
    await admin.disconnect();
  }
  if (lakeDir) rmSync(lakeDir, { recursive: true, force: true });
});

/** Polls the lake until it has `count` rows (committed files only), or fails with the job log. */
async function lakeRows(count: number, timeoutMs: number): Promise<LakeSession[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await readLakeSessions(lakeDir);
    if (rows.length >= count) return rows;
    if (Date.now() > deadline)
      throw new Error(`the lake has ${rows.length} rows, expected ${count}; job log:\n${job?.logTail()}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

test('readings become a session, alerts and dead letters; a ts from the future is refused', async () => {
  job = await startSessionize({ bootstrap: bootstrap(), lakeDir });
  await job.started;

  const reading = (deviceId: string, ts: string, temperature: number, status = 'ok') =>
    JSON.stringify({ deviceId, ts, temperature, humidity: 40, battery: 80, status, receivedAt: ts });
  const producer = kafkaClient('sessionize-smoke').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({
    topic: RAW,
    acks: -1,
    messages: [
      { key: 'dev-1', value: reading('dev-1', '2026-11-25T06:00:00.000Z', 21.5) },
      { key: 'dev-1', value: reading('dev-1', '2026-11-25T06:00:10.000Z', 75) },
      { key: 'dev-1', value: 'not json {' },
      { key: 'dev-1', value: reading('dev-1', '2026-11-25T06:00:20.000Z', 22.5, 'error') },
      // dev-2 at 06:06:00: watermark 06:05:30 >= dev-1's session end 06:05:20 (gap 300 s, dev config).
      { key: 'dev-2', value: reading('dev-2', '2026-11-25T06:06:00.000Z', 20) },
      // A device clock a day ahead of the record's timestamp (now): more than maxFutureSkewSeconds
      // (300 s, dev config) ahead, refused; had it counted, the watermark would be a day ahead.
      { key: 'dev-3', value: reading('dev-3', new Date(Date.now() + 86_400_000).toISOString(), 20) },
      // 40 s ahead of the watermark 06:05:30 (the future ts did not count): on time, its alert fires.
      { key: 'dev-4', value: reading('dev-4', '2026-11-25T06:06:10.000Z', 80) },
    ],
  });
  await producer.disconnect();

  const rows = await lakeRows(1, 120_000);
  expect(rows).toEqual([
    {
      partition: { dt: '2026-11-25', hr: '06' },
      row: {
        deviceId: 'dev-1',
        sessionStart: '2026-11-25T06:00:00.000Z',
        sessionEnd: '2026-11-25T06:05:20.000Z',
        readings: 3,
        errorReadings: 1,
        temperatureMin: 21.5,
        temperatureMax: 75,
        temperatureAvg: (21.5 + 75 + 22.5) / 3,
        humidityAvg: 40,
        batteryMin: 80,
      },
    },
  ]);

  const dead = await readTopic({
    brokers: [bootstrap()],
    topic: DLQ,
    fromBeginning: true,
    until: 2,
    timeoutMs: 30_000,
  });
  expect(dead.map((d) => [d.key?.toString(), d.headers['dlq.reason']])).toEqual([
    ['dev-1', 'invalid_json'],
    ['dev-3', 'schema_violation'],
  ]);
  expect(dead[0]?.value?.toString()).toBe('not json {');
  const { ['dlq.at']: at, ...headers } = dead[0]?.headers ?? {};
  expect(headers).toEqual({
    'dlq.reason': 'invalid_json',
    'dlq.detail': 'the value is not a JSON object in UTF-8',
    'dlq.source.topic': RAW,
    'dlq.source.partition': '0',
    'dlq.source.offset': '2',
    'dlq.consumer': 'sessionize',
  });
  expect(at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  const { ['dlq.at']: futureAt, ['dlq.detail']: futureDetail, ...futureHeaders } = dead[1]?.headers ?? {};
  expect(futureHeaders).toEqual({
    'dlq.reason': 'schema_violation',
    'dlq.source.topic': RAW,
    'dlq.source.partition': '0',
    'dlq.source.offset': '5',
    'dlq.consumer': 'sessionize',
  });
  expect(futureDetail).toMatch(
    /^ts must not be more than 300 s ahead of the record's timestamp \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
  );
  expect(futureAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

  const alerts = await readTopic({
    brokers: [bootstrap()],
    topic: ALERTS,
    fromBeginning: true,
    until: 2,
    timeoutMs: 30_000,
  });
  expect(
    alerts.map((a) => ({
      key: a.key?.toString(),
      value: JSON.parse(a.value?.toString() ?? 'null') as unknown,
    })),
  ).toEqual([
    {
      key: 'dev-1',
      value: {
        // sha256('temperature_high|dev-1|2026-11-25T06:00:10.000Z'), computed by hand with sha256sum.
        alertId: '8031833dd4a4af7a912ee62fd7f10768effaabe9afcfe6ca70be039afdfb61f2',
        deviceId: 'dev-1',
        rule: 'temperature_high',
        severity: 'critical',
        at: '2026-11-25T06:00:10.000Z',
        details: { ts: '2026-11-25T06:00:10.000Z', temperature: 75, limit: 70 },
      },
    },
    {
      key: 'dev-4',
      value: {
        // sha256('temperature_high|dev-4|2026-11-25T06:06:10.000Z'), computed by hand with sha256sum.
        alertId: '1f6b431e2641875ae80429d5146da1946d70e3bd216f81f6beb76d12e9fb3372',
        deviceId: 'dev-4',
        rule: 'temperature_high',
        severity: 'critical',
        at: '2026-11-25T06:06:10.000Z',
        details: { ts: '2026-11-25T06:06:10.000Z', temperature: 80, limit: 70 },
      },
    },
  ]);
});

// Locally the brokers are PLAINTEXT, yet every Kafka table carries the MSK IAM settings. Kafka
// parses `sasl.client.callback.handler.class` as a class when it builds a client, whatever the
// protocol: the job above running shows that the jar's IAMClientCallbackHandler loads; this
// control shows that a class that is not there does fail the job (so the check is real).
test('a Kafka table naming an IAM callback class the jar lacks fails the job, exit code 1', async () => {
  failing = await startSessionize({
    bootstrap: bootstrap(),
    lakeDir: join(lakeDir, 'control'),
    propertyOverrides: {
      'kafka.sasl-callback-handler': 'software.amazon.msk.auth.iam.NoSuchCallbackHandler',
    },
  });
  await expect(failing.started).rejects.toThrow('exited (code 1)');
  const { code } = await failing.exited;
  expect(code).toBe(1);
  expect(readFileSync(failing.logFile, 'utf8')).toMatch(
    /Invalid value software\.amazon\.msk\.auth\.iam\.NoSuchCallbackHandler for configuration sasl\.client\.callback\.handler\.class/,
  );
});
