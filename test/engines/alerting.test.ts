/**
 * The alerting function on the local engines: its handler (lambda/alerting/index.ts, unchanged,
 * built from its environment) behind the local event-source poller on the local broker, dedupe
 * claims in dynalite, publishing through the real SNS client of the AWS SDK to a local SNS stand-in
 * (test/engines/harness/sns-stand-in.ts). SNS itself cannot run here; the stand-in speaks the query
 * protocol the SDK uses for Publish, refuses any request that is not SigV4-signed for service `sns`
 * in the test's region (it recomputes the signature), records topic ARN, subject, message and
 * attributes, and fails the next N requests on demand. The differences the local engines force:
 * KAFKA_AUTH=none, DYNAMODB_ENDPOINT and SNS_ENDPOINT. Every topic name comes from the catalog.
 */
import type { Admin, Producer } from 'kafkajs';
import { createKafka, createProducer } from '../../lambda/shared/kafka-client';
import { topicName } from '../../lib/topics/topic-specs';
import { alertBody, alertSubject } from '../../lambda/alerting/message';
import type { Alert } from '../../lambda/shared/contract/alert';
import {
  bootstrap,
  connectAdmin,
  consumeRecords,
  deleteTopicsAndWait,
  waitForLeaders,
} from './harness/clients';
import { startLocalAlerting, type LocalAlerting } from './harness/alerting';
import { INTERNAL_ERROR, THROTTLED } from './harness/sns-stand-in';

const ALERTS = topicName('telemetryAlerts');
const DLQ = topicName('dlqAlerting');
const TOPICS = [ALERTS, DLQ];

let admin: Admin;
let producer: Producer;
let local: LocalAlerting;

const ID = (n: number): string => `${'ab'.repeat(31)}${n.toString(16).padStart(2, '0')}`;

function alert(n: number, overrides: Record<string, unknown> = {}): Alert {
  return {
    alertId: ID(n),
    deviceId: `sensor-${n}`,
    rule: 'battery_low',
    severity: 'warning',
    at: '2026-11-25T06:33:57.123Z',
    details: { ts: '2026-11-25T06:33:57.123Z', battery: 7, limit: 10 },
    ...overrides,
  } as Alert;
}

async function send(messages: { value: unknown; partition: number; key?: string }[]): Promise<void> {
  await producer.send({
    topic: ALERTS,
    messages: messages.map((m) => ({
      key: m.key ?? 'sensor',
      value: typeof m.value === 'string' ? m.value : JSON.stringify(m.value),
      partition: m.partition,
    })),
  });
}

/** The alertIds the stand-in got, in order. */
const publishedIds = () => local.sns.published.map((m) => /Alert id: (\w+)/.exec(m.message)![1]);

beforeAll(async () => {
  admin = await connectAdmin();
  await deleteTopicsAndWait(admin, TOPICS);
  await admin.createTopics({
    waitForLeaders: false,
    topics: [
      { topic: ALERTS, numPartitions: 2, replicationFactor: 1 },
      { topic: DLQ, numPartitions: 1, replicationFactor: 1 },
    ],
  });
  await waitForLeaders(admin, TOPICS);
  producer = createProducer(createKafka({ brokers: bootstrap(), auth: 'none', clientId: 'alerting-test' }));
  await producer.connect();
  local = await startLocalAlerting({ retryBudgetSeconds: 5 });
});

afterAll(async () => {
  await local?.stop();
  await producer?.disconnect();
  if (admin) {
    await deleteTopicsAndWait(admin, TOPICS);
    await admin.disconnect();
  }
});

beforeEach(() => local.sns.reset());

afterEach(() => {
  // Every request the SDK made was signed for sns in the region (the stand-in refuses others).
  expect(local.sns.refused).toEqual([]);
});

test('distinct alerts are published once each, with subject, body and attributes', async () => {
  const alerts = [alert(1), alert(2, { severity: 'critical', rule: 'temperature_high' }), alert(3)];
  await send(alerts.map((value, i) => ({ value, partition: i % 2 })));
  await local.poller.untilCaughtUp();
  expect([...publishedIds()].sort()).toEqual([ID(1), ID(2), ID(3)]);
  const second = local.sns.published.find((m) => m.message.includes(ID(2)))!;
  expect(second).toEqual({
    topicArn: local.topicArn,
    subject: alertSubject(alerts[1]!),
    message: alertBody(alerts[1]!),
    attributes: {
      rule: { dataType: 'String', value: 'temperature_high' },
      severity: { dataType: 'String', value: 'critical' },
      deviceId: { dataType: 'String', value: 'sensor-2' },
      severityLevel: { dataType: 'Number', value: '3' },
    },
    messageId: expect.any(String) as unknown as string,
  });
  expect(second.subject).toBe('[CRITICAL] temperature_high on sensor-2');
});

test('the same alertId twice in one batch, and the batch delivered again, are published once', async () => {
  await send([
    { value: alert(4), partition: 0 },
    { value: alert(4), partition: 0 },
  ]);
  await local.poller.untilCaughtUp();
  expect(publishedIds()).toEqual([ID(4)]);
  // The mapping delivers a batch again (a retry after the commit was lost): nothing more is published.
  const batch = local.poller.events.find((e) =>
    Object.values(e.records)
      .flat()
      .some((r) => Buffer.from(r.value!, 'base64').toString().includes(ID(4))),
  )!;
  await local.handler(batch);
  // And a copy produced again later (the sessionize job after a restore) is a duplicate too.
  await send([{ value: alert(4), partition: 1 }]);
  await local.poller.untilCaughtUp();
  expect(publishedIds()).toEqual([ID(4)]);
  expect(local.sns.requests).toEqual([{ action: 'Publish', status: 200 }]);
});

test('an SNS outage shorter than the retry budget delays the alerts but loses none', async () => {
  local.sns.failNext(2, THROTTLED);
  local.sns.failNext(2, INTERNAL_ERROR);
  const failuresBefore = local.poller.counters.failures;
  await send([
    { value: alert(5), partition: 0 },
    { value: alert(6), partition: 0 },
  ]);
  await local.poller.untilCaughtUp();
  expect([...publishedIds()].sort()).toEqual([ID(5), ID(6)]);
  // Four refused requests, retried inside the invocation (the batch never failed), then each alert once.
  const statuses = local.sns.requests.map((r) => r.status);
  expect(statuses.filter((s) => s === 429)).toHaveLength(2);
  expect(statuses.filter((s) => s === 500)).toHaveLength(2);
  expect(statuses.filter((s) => s === 200)).toHaveLength(2);
  expect(local.poller.counters.failures).toBe(failuresBefore);
});

test('a malformed alert is dead-lettered with the dlq.* headers; an alert with an unknown field is published', async () => {
  const malformed = JSON.stringify({ ...alert(7), alertId: 'not-a-sha256' });
  const extended = { ...alert(8), firmware: '2.4.1' };
  await send([
    { value: '{"alertId": ', partition: 1, key: 'sensor-x' },
    { value: malformed, partition: 1, key: 'sensor-7' },
    { value: extended, partition: 1, key: 'sensor-8' },
  ]);
  await local.poller.untilCaughtUp();
  expect(publishedIds()).toEqual([ID(8)]);
  expect(local.sns.published[0]!.message).toContain('"firmware":"2.4.1"');

  const dead = await consumeRecords(DLQ, 2, { settleMs: 1_000 });
  expect(dead.map((d) => [d.key, d.value])).toEqual([
    ['sensor-x', '{"alertId": '],
    ['sensor-7', malformed],
  ]);
  expect(dead.map((d) => ({ ...d.headers, 'dlq.at': undefined, 'dlq.source.offset': undefined }))).toEqual([
    {
      'dlq.reason': 'invalid_json',
      'dlq.detail': 'the value is not JSON',
      'dlq.source.topic': ALERTS,
      'dlq.source.partition': '1',
      'dlq.consumer': 'alerting',
      'dlq.at': undefined,
      'dlq.source.offset': undefined,
    },
    {
      'dlq.reason': 'schema_violation',
      'dlq.detail': 'alertId: must be 64 lowercase hex characters (SHA-256)',
      'dlq.source.topic': ALERTS,
      'dlq.source.partition': '1',
      'dlq.consumer': 'alerting',
      'dlq.at': undefined,
      'dlq.source.offset': undefined,
    },
  ]);
  for (const d of dead) {
    expect(d.headers['dlq.source.offset']).toMatch(/^\d+$/);
    expect(d.headers['dlq.at']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  }
  expect(Number(dead[1]!.headers['dlq.source.offset'])).toBe(
    Number(dead[0]!.headers['dlq.source.offset']) + 1,
  );
});

test('the stand-in refuses a request signed for another region or with another secret', async () => {
  const { PublishCommand, SNSClient } = await import('@aws-sdk/client-sns');
  const attempt = (region: string, secretAccessKey: string) =>
    new SNSClient({
      endpoint: local.sns.endpoint,
      region,
      maxAttempts: 1,
      credentials: { accessKeyId: 'local', secretAccessKey },
    })
      .send(new PublishCommand({ TopicArn: local.topicArn, Message: 'x' }))
      .catch((e: unknown) => (e as Error).name);
  expect(await attempt('eu-west-1', 'local')).toBe('SignatureDoesNotMatch');
  expect(await attempt('us-east-1', 'other')).toBe('SignatureDoesNotMatch');
  expect(local.sns.refused.map((r) => r.reason)).toEqual([
    'signed for region eu-west-1, not us-east-1',
    'the signature does not match the request',
  ]);
  expect(local.sns.published).toEqual([]);
  local.sns.reset();
});
