/**
 * The alerting box (docs/telemetry-path.md, "Alerting"): the alert contract, the SNS message, the
 * publisher's error classification, the consumer's dedupe and dead-letter behaviour, and the
 * TelemetryAlerting construct's template.
 *
 * Stand-ins, and what each replaces:
 * - `recordingPublisher`: SNS (the consumer's AlertPublisher); it records each message and can fail
 *   the next calls. The SNS client itself (signing, the query protocol) runs against a local HTTP
 *   stand-in in test/engines/alerting.test.ts.
 * - `stubSnsClient`: the SDK's SNSClient in `snsPublisher` (records the PublishCommand input, throws
 *   errors named as the SDK names SNS's).
 * - dynalite (test/engines/harness/dynalite.ts, in-process): DynamoDB, for the dedupe claims.
 * - `fakeProducer`: the Kafka producer of the consumer runtime (dead letters are recorded).
 * - a fixed clock and a recording sleep: the runtime's clock and backoff waits.
 * - `clusterStandIn`: the MSK cluster (ARNs and the connect grant only) under the topic catalog.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Producer } from 'kafkajs';
import * as z from 'zod/mini';
import {
  ALERTING_METRICS,
  createAlertingConsumer,
  PermanentPublishError,
  snsPublisher,
  type AlertPublisher,
} from '../../lambda/alerting/alerting';
import { alertBody, alertMessage, alertSubject, type AlertMessage } from '../../lambda/alerting/message';
import { ALERT_SEVERITY_LEVELS, alertV1, type Alert } from '../../lambda/shared/contract/alert';
import { claimKey } from '../../lambda/shared/consumer/dedupe';
import type { MSKEvent, MSKRecord } from '../../lambda/shared/consumer/msk-event';
import { createMskHandler, type RuntimeMetrics } from '../../lambda/shared/consumer/runtime';
import { ALERT_SEVERITIES, loadEnvironments } from '../../lib/config/platform-config';
import type { IKafkaCluster } from '../../lib/kafka/msk-cluster';
import { TelemetryAlerting } from '../../lib/telemetry/alerting';
import { TopicCatalog } from '../../lib/topics/topic-catalog';
import { topicName } from '../../lib/topics/topic-specs';
import { LocalDynamo } from '../engines/harness/dynalite';
import { UNSCOPED_VPC_FUNCTION_STATEMENTS } from '../support/platform-function-statements';
import { cdkJsonContext } from '../support/synth';

const ALERTS = topicName('telemetryAlerts');
const DLQ = topicName('dlqAlerting');
const NOW = Date.parse('2026-11-25T07:00:00.000Z');
const DAY = 86_400;
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:alerts';

const ID = (n: number): string => n.toString(16).padStart(64, '0');

function alert(n: number, overrides: Partial<Alert> & Record<string, unknown> = {}): Alert {
  return {
    alertId: ID(n),
    deviceId: `sensor-${n}`,
    rule: 'temperature_high',
    severity: 'critical',
    at: '2026-11-25T06:33:57.123Z',
    details: { ts: '2026-11-25T06:33:57.123Z', temperature: 81.5, limit: 70 },
    ...overrides,
  };
}

describe('the telemetry.alerts contract', () => {
  test('a valid alert passes with its unknown fields kept', () => {
    const parsed = z.safeParse(alertV1, { ...alert(1), region: 'eu' });
    expect(parsed.success).toBe(true);
    expect(parsed.data).toEqual({ ...alert(1), region: 'eu' });
  });

  test.each([
    ['alertId', { alertId: ID(1).toUpperCase().replace(/0/g, 'A') }],
    ['alertId', { alertId: ID(1).slice(1) }],
    ['deviceId', { deviceId: '' }],
    ['rule', { rule: '' }],
    ['severity', { severity: 'fatal' }],
    ['at', { at: '2026-11-25T06:33:57Z' }],
    ['details', { details: 'hot' }],
  ])('%s is checked (%j)', (field, change) => {
    const parsed = z.safeParse(alertV1, { ...alert(1), ...change });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('.'))).toEqual([field]);
  });

  test('the severities and their levels are the config’s, lowest first', () => {
    expect(Object.keys(ALERT_SEVERITY_LEVELS)).toEqual([...ALERT_SEVERITIES]);
    expect(ALERT_SEVERITY_LEVELS).toEqual({ info: 1, warning: 2, critical: 3 });
  });
});

describe('the SNS message of an alert', () => {
  test('subject: severity, rule and device in printable ASCII, shorter than 100 characters', () => {
    expect(alertSubject(alert(7))).toBe('[CRITICAL] temperature_high on sensor-7');
    expect(alertSubject({ severity: 'info', rule: 'r', deviceId: 'gerät\n2' })).toBe('[INFO] r on ger?t?2');
    const long = alertSubject({ severity: 'warning', rule: 'battery_low', deviceId: 'd'.repeat(200) });
    expect(long).toBe(`[WARNING] battery_low on ${'d'.repeat(71)}...`);
    expect(long).toHaveLength(99);
  });

  test('body: the fields one per line, the details, then the alert as received', () => {
    const a = { ...alert(7), extra: true };
    expect(alertBody(a)).toBe(
      [
        'temperature_high (critical) on device sensor-7',
        '',
        'Device:   sensor-7',
        'Rule:     temperature_high',
        'Severity: critical',
        'At:       2026-11-25T06:33:57.123Z',
        `Alert id: ${ID(7)}`,
        '',
        'Details:',
        '  ts: 2026-11-25T06:33:57.123Z',
        '  temperature: 81.5',
        '  limit: 70',
        '',
        'The alert as received:',
        JSON.stringify(a),
      ].join('\n'),
    );
  });

  test('attributes: rule, severity and deviceId as strings, severityLevel as a number', () => {
    expect(alertMessage(alert(7, { severity: 'warning', rule: 'battery_low' })).attributes).toEqual({
      rule: { DataType: 'String', StringValue: 'battery_low' },
      severity: { DataType: 'String', StringValue: 'warning' },
      deviceId: { DataType: 'String', StringValue: 'sensor-7' },
      severityLevel: { DataType: 'Number', StringValue: '2' },
    });
  });
});

/** Stands in for the SDK's SNSClient: records the Publish input, or throws an error named as the SDK names it. */
function stubSnsClient(failWith?: string): {
  client: { send: (c: unknown) => Promise<unknown> };
  inputs: unknown[];
} {
  const inputs: unknown[] = [];
  return {
    inputs,
    client: {
      send: (command: unknown) => {
        inputs.push((command as { input: unknown }).input);
        if (!failWith) return Promise.resolve({ MessageId: 'm-1' });
        const err = new Error(`${failWith} from SNS`);
        err.name = failWith;
        return Promise.reject(err);
      },
    },
  };
}

describe('snsPublisher', () => {
  test('one Publish with the topic, subject, body and attributes', async () => {
    const { client, inputs } = stubSnsClient();
    const message = alertMessage(alert(3));
    await snsPublisher(client as never, TOPIC_ARN)(message);
    expect(inputs).toEqual([
      {
        TopicArn: TOPIC_ARN,
        Subject: message.subject,
        Message: message.body,
        MessageAttributes: message.attributes,
      },
    ]);
  });

  test.each(['InvalidParameterException', 'InvalidParameterValueException', 'ValidationException'])(
    '%s is permanent',
    async (name) => {
      const { client } = stubSnsClient(name);
      const publish = snsPublisher(client as never, TOPIC_ARN)(alertMessage(alert(3)));
      await expect(publish).rejects.toThrow(PermanentPublishError);
      await expect(snsPublisher(client as never, TOPIC_ARN)(alertMessage(alert(3)))).rejects.toThrow(
        `SNS refused the message (${name}): ${name} from SNS`,
      );
    },
  );

  test.each([
    'ThrottledException',
    'InternalErrorException',
    'KMSThrottlingException',
    'AuthorizationErrorException',
    'TimeoutError',
  ])('%s is transient (thrown as it is, for the runtime to retry)', async (name) => {
    const { client } = stubSnsClient(name);
    const error = await snsPublisher(
      client as never,
      TOPIC_ARN,
    )(alertMessage(alert(3))).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(PermanentPublishError);
    expect((error as Error).name).toBe(name);
  });

  test('a message larger than SNS allows is refused without a request', async () => {
    const { client, inputs } = stubSnsClient();
    const big = alertMessage(alert(3, { details: { blob: 'x'.repeat(262_144) } }));
    await expect(snsPublisher(client as never, TOPIC_ARN)(big)).rejects.toThrow(
      /^the SNS message would be \d+ bytes, more than SNS's 262144$/,
    );
    expect(inputs).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The consumer on the runtime, with dynalite for the claims.

interface Sent {
  topic: string;
  messages: { key: Buffer | null; value: Buffer | null; headers: Record<string, string> }[];
}

function fakeProducer(): { producer: () => Promise<Producer>; sent: Sent[] } {
  const sent: Sent[] = [];
  const producer = {
    send: (request: Sent) => {
      sent.push({ topic: request.topic, messages: request.messages });
      return Promise.resolve([]);
    },
  } as unknown as Producer;
  return { producer: () => Promise.resolve(producer), sent };
}

function fakeMetrics(): { metrics: RuntimeMetrics; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  const add = (name: string, value: number) => {
    counts[name] = (counts[name] ?? 0) + value;
  };
  return {
    counts,
    metrics: {
      addMetric: (name, _unit, value) => add(name, value),
      singleMetric: () => {
        const dims: string[] = [];
        return {
          addDimension: (name: string, value: string) => dims.push(`${name}=${value}`),
          addMetric: (name: string, _unit: unknown, value: number) => add([name, ...dims].join('|'), value),
        };
      },
      setDefaultDimensions: () => undefined,
      publishStoredMetrics: () => undefined,
    },
  };
}

/** Stands in for SNS: records every message published; `failNext` makes the next calls throw. */
function recordingPublisher(): {
  publish: AlertPublisher;
  published: AlertMessage[];
  attempts: string[];
  failNext: (n: number, error?: () => Error) => void;
  hold: (alertId: string) => { release: () => void; reached: Promise<void> };
} {
  const published: AlertMessage[] = [];
  const attempts: string[] = [];
  let failures = 0;
  let makeError: () => Error = () =>
    Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' });
  const holds = new Map<string, { gate: Promise<void>; arrived: () => void }>();
  return {
    published,
    attempts,
    failNext: (n, error) => {
      failures = n;
      if (error) makeError = error;
    },
    hold: (alertId) => {
      let release!: () => void;
      let arrived!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const reached = new Promise<void>((r) => (arrived = r));
      holds.set(alertId, { gate, arrived });
      return { release, reached };
    },
    publish: async (message) => {
      const alertId = /Alert id: ([0-9a-f]{64})/.exec(message.body)![1]!;
      attempts.push(alertId);
      const held = holds.get(alertId);
      if (held) {
        holds.delete(alertId);
        held.arrived();
        await held.gate;
      }
      if (failures > 0) {
        failures--;
        throw makeError();
      }
      published.push(message);
    },
  };
}

function mskRecord(partition: number, offset: number, value: unknown): MSKRecord {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return {
    topic: ALERTS,
    partition,
    offset,
    timestamp: NOW - 1000,
    timestampType: 'CREATE_TIME',
    key: Buffer.from('sensor').toString('base64'),
    value: Buffer.from(text).toString('base64'),
    headers: [],
  };
}

function eventOf(...records: MSKRecord[]): MSKEvent {
  const grouped: Record<string, MSKRecord[]> = {};
  for (const r of records) (grouped[`${r.topic}-${r.partition}`] ??= []).push(r);
  return { eventSource: 'aws:kafka', bootstrapServers: 'b-1:9098', records: grouped };
}

const publishedIds = (messages: readonly AlertMessage[]) =>
  messages.map((m) => /Alert id: ([0-9a-f]{64})/.exec(m.body)![1]).sort();

describe('the alerting consumer (dynalite for DynamoDB, a recording publisher for SNS)', () => {
  let local: LocalDynamo;
  let tableNo = 0;

  beforeAll(async () => {
    local = await LocalDynamo.start();
  });
  afterAll(async () => {
    await local?.stop();
  });

  async function harness(options: { sleep?: (ms: number) => Promise<void> } = {}) {
    const table = `alerting-unit-${++tableNo}`;
    await local.createTable({ name: table });
    const sns = recordingPublisher();
    const kafka = fakeProducer();
    const { metrics, counts } = fakeMetrics();
    const sleeps: number[] = [];
    const consumer = createAlertingConsumer({
      alertsTopic: ALERTS,
      deadLetterTopic: DLQ,
      table,
      dynamo: local.client,
      publish: sns.publish,
      dedupeHorizonSeconds: 7 * DAY,
      claimLeaseSeconds: 142,
    });
    const handler = createMskHandler(consumer, {
      producer: kafka.producer,
      retryBudgetMs: 60_000,
      now: () => NOW,
      metrics,
      logger: {
        debug: () => undefined,
        info: () => undefined,
        warn: () => undefined,
        error: () => undefined,
      },
      sleep: async (ms) => {
        sleeps.push(ms);
        await options.sleep?.(ms);
      },
      random: () => 0.5,
    });
    const claim = async (n: number) =>
      (
        await local.documentClient.send(
          new GetCommand({ TableName: table, Key: claimKey(ID(n), 'alerting'), ConsistentRead: true }),
        )
      ).Item;
    return { handler, sns, kafka, counts, sleeps, claim };
  }

  test('distinct alerts are published once each; a copy in the same batch is not', async () => {
    const h = await harness();
    await h.handler(
      eventOf(
        mskRecord(0, 0, alert(1)),
        mskRecord(0, 1, alert(2)),
        mskRecord(0, 2, alert(1)),
        mskRecord(1, 0, alert(3)),
      ),
    );
    expect(publishedIds(h.sns.published)).toEqual([ID(1), ID(2), ID(3)]);
    expect(h.counts[ALERTING_METRICS.published]).toBe(3);
    expect(h.counts[ALERTING_METRICS.duplicate]).toBe(1);
    expect(await h.claim(1)).toEqual({
      pk: `event#${ID(1)}`,
      sk: 'alerting',
      topic: ALERTS,
      partition: 0,
      offset: 0,
      applied: true,
      claimedAt: NOW,
      expiresAt: NOW / 1000 + 7 * DAY,
    });
  });

  test('the same batch delivered again, and the alert at another position, are not published again', async () => {
    const h = await harness();
    const batch = eventOf(mskRecord(0, 5, alert(1)), mskRecord(0, 6, alert(2)));
    await h.handler(batch);
    await h.handler(batch);
    await h.handler(eventOf(mskRecord(2, 40, alert(1))));
    expect(publishedIds(h.sns.published)).toEqual([ID(1), ID(2)]);
    expect(h.counts[ALERTING_METRICS.duplicate]).toBe(3);
  });

  test('a transient SNS failure is retried with backoff; what was published before it is not published again', async () => {
    const h = await harness();
    // Both alerts are published concurrently; the first call fails (the order of calls decides which).
    h.sns.failNext(1);
    await h.handler(eventOf(mskRecord(0, 0, alert(1)), mskRecord(0, 1, alert(2))));
    expect(publishedIds(h.sns.published)).toEqual([ID(1), ID(2)]);
    expect(h.sns.attempts).toHaveLength(3);
    expect(h.sleeps).toEqual([50]); // full jitter of the 100 ms base, random 0.5
    expect(h.kafka.sent).toEqual([]);
  });

  test('an alert SNS refuses for good is dead-lettered with a reason and its claim released', async () => {
    const h = await harness();
    h.sns.failNext(1, () =>
      Object.assign(
        new PermanentPublishError('SNS refused the message (InvalidParameterException): Message too long'),
      ),
    );
    await h.handler(eventOf(mskRecord(0, 9, alert(4))));
    expect(h.sns.published).toEqual([]);
    expect(h.kafka.sent).toHaveLength(1);
    const [dead] = h.kafka.sent;
    expect(dead!.topic).toBe(DLQ);
    expect(dead!.messages).toHaveLength(1);
    expect(dead!.messages[0]!.value!.toString()).toBe(JSON.stringify(alert(4)));
    expect(dead!.messages[0]!.headers).toEqual({
      'dlq.reason': 'processing_error',
      'dlq.detail': 'SNS refused the message (InvalidParameterException): Message too long',
      'dlq.source.topic': ALERTS,
      'dlq.source.partition': '0',
      'dlq.source.offset': '9',
      'dlq.consumer': 'alerting',
      'dlq.at': new Date(NOW).toISOString(),
    });
    expect(await h.claim(4)).toBeUndefined();
    expect(h.counts[ALERTING_METRICS.refused]).toBe(1);
    // A replay from the dead-letter topic (a new position) is tried again.
    await h.handler(eventOf(mskRecord(1, 3, alert(4))));
    expect(publishedIds(h.sns.published)).toEqual([ID(4)]);
  });

  test('a copy arriving while the first is being published waits for it, then is a duplicate', async () => {
    let onSleep: () => Promise<void> = () => Promise.resolve();
    const h = await harness({ sleep: () => onSleep() });
    const held = h.sns.hold(ID(5));
    const first = h.handler(eventOf(mskRecord(0, 1, alert(5))));
    await held.reached; // the first copy is claimed and being published
    // The second copy finds the claim in flight and backs off; the first finishes while it waits.
    onSleep = async () => {
      held.release();
      await first;
    };
    await h.handler(eventOf(mskRecord(1, 7, alert(5))));
    expect(publishedIds(h.sns.published)).toEqual([ID(5)]);
    expect(h.sns.attempts).toEqual([ID(5)]);
    expect(h.sleeps).toHaveLength(1);
    expect(h.counts.PartitionRetries).toBe(1);
    expect(h.counts[ALERTING_METRICS.duplicate]).toBe(1);
  });

  test('malformed alerts are dead-lettered by the runtime (invalid_json, schema_violation)', async () => {
    const h = await harness();
    await h.handler(
      eventOf(mskRecord(0, 0, '{not json'), mskRecord(0, 1, { ...alert(6), severity: 'fatal' })),
    );
    expect(h.sns.published).toEqual([]);
    expect(h.kafka.sent.flatMap((s) => s.messages.map((m) => m.headers['dlq.reason']))).toEqual([
      'invalid_json',
      'schema_violation',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// The construct's template.

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const CLUSTER_ARN = `arn:aws:kafka:${REGION}:${ACCOUNT}:cluster/c/u`;

/** Stands in for the MSK cluster: its ARNs and the connect grant, as MskCluster writes them. */
const clusterStandIn: IKafkaCluster = {
  clusterArn: CLUSTER_ARN,
  clusterName: 'c',
  topicArn: (name) => `arn:aws:kafka:${REGION}:${ACCOUNT}:topic/c/u/${name}`,
  groupArn: (name) => `arn:aws:kafka:${REGION}:${ACCOUNT}:group/c/u/${name}`,
  grantConnect: (grantee) =>
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster'],
      resourceArns: [CLUSTER_ARN],
    }),
};

describe('TelemetryAlerting', () => {
  const context = structuredClone(cdkJsonContext()) as {
    environments: Record<string, { telemetry: { alerting: { subscriptions: unknown[] } } }>;
  };
  context.environments.dev!.telemetry.alerting.subscriptions = [
    { email: 'oncall@example.com', minSeverity: 'critical' },
    { email: 'team@example.com', minSeverity: 'warning' },
    { email: 'log@example.com', minSeverity: 'info' },
  ];
  const [config] = loadEnvironments({ ...context, env: 'dev' });
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test', { env: { account: ACCOUNT, region: REGION } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const securityGroup = new ec2.SecurityGroup(stack, 'Sg', { vpc });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const catalog = new TopicCatalog(stack, 'Catalog', { config: config!, cluster: clusterStandIn });
  const alerting = new TelemetryAlerting(stack, 'Alerting', {
    config: config!,
    catalog,
    cluster: clusterStandIn,
    bootstrapBrokers: 'b-1:9098',
    key,
    vpc,
    securityGroup,
  });
  const template = Template.fromStack(stack);
  const ref = (c: { node: { defaultChild?: unknown } } | undefined) =>
    stack.getLogicalId(c!.node.defaultChild as never);
  const topicRef = { Ref: ref(alerting.topic) };
  const keyArn = { 'Fn::GetAtt': [ref(key), 'Arn'] };
  const via = (service: string) => ({
    'Fn::Join': ['', [`${service}.`, { Ref: 'AWS::Region' }, '.amazonaws.com']],
  });

  test('the topic is encrypted with the platform key', () => {
    expect(
      Object.values(
        template.findResources('AWS::SNS::Topic', {
          Properties: { DisplayName: 'streaming dev telemetry alerts' },
        }),
      ).map((r) => r.Properties),
    ).toEqual([{ DisplayName: 'streaming dev telemetry alerts', KmsMasterKeyId: keyArn }]);
  });

  test('the topic policy refuses every publish without TLS, and says nothing else', () => {
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy')).filter(
      (p) => JSON.stringify(p.Properties.Topics) === JSON.stringify([topicRef]),
    );
    expect(policies.map((p) => p.Properties.PolicyDocument)).toEqual([
      {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AllowPublishThroughSSLOnly',
            Effect: 'Deny',
            Principal: '*',
            Action: 'sns:Publish',
            Resource: topicRef,
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
    ]);
  });

  test('one e-mail subscription per configured address, filtered on severityLevel >= its minimum', () => {
    const subs = Object.values(template.findResources('AWS::SNS::Subscription')).map((s) => s.Properties);
    const byEndpoint = (a: { Endpoint: string }, b: { Endpoint: string }) =>
      a.Endpoint.localeCompare(b.Endpoint);
    expect(subs.sort(byEndpoint)).toEqual(
      [
        {
          Protocol: 'email',
          Endpoint: 'oncall@example.com',
          TopicArn: topicRef,
          FilterPolicy: { severityLevel: [{ numeric: ['>=', 3] }] },
        },
        {
          Protocol: 'email',
          Endpoint: 'team@example.com',
          TopicArn: topicRef,
          FilterPolicy: { severityLevel: [{ numeric: ['>=', 2] }] },
        },
        {
          Protocol: 'email',
          Endpoint: 'log@example.com',
          TopicArn: topicRef,
          FilterPolicy: { severityLevel: [{ numeric: ['>=', 1] }] },
        },
      ].sort(byEndpoint),
    );
  });

  test("the function's role: its topics, group, table, the key through DynamoDB and SNS, and Publish on this topic only", () => {
    const role = alerting.consumer.function.role;
    const roleRef = JSON.stringify({ Ref: ref(role) });
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === roleRef))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as unknown[]);
    const topicArn = (name: string) => `arn:aws:kafka:${REGION}:${ACCOUNT}:topic/c/u/${name}`;
    const expected = [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [ref(alerting.consumer.function.logGroup), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: [
          'kafka-cluster:Connect',
          'kafka-cluster:DescribeCluster',
          'kafka-cluster:DescribeClusterDynamicConfiguration',
          'kafka-cluster:WriteDataIdempotently',
          'kafka:DescribeClusterV2',
          'kafka:GetBootstrapBrokers',
        ],
        Resource: CLUSTER_ARN,
      },
      {
        Effect: 'Allow',
        Action: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
        Resource: `arn:aws:kafka:${REGION}:${ACCOUNT}:group/c/u/alerting-telemetry.alerts`,
      },
      {
        Effect: 'Allow',
        Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
        Resource: topicArn('telemetry.alerts'),
      },
      {
        Effect: 'Allow',
        Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
        Resource: topicArn('dlq.alerting'),
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        Resource: { 'Fn::GetAtt': [ref(alerting.table.table), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        Resource: keyArn,
        Condition: { StringEquals: { 'kms:ViaService': via('dynamodb') } },
      },
      { Effect: 'Allow', Action: 'sns:Publish', Resource: topicRef },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: keyArn,
        Condition: {
          StringEquals: { 'kms:ViaService': via('sns'), 'kms:EncryptionContext:aws:sns:topicArn': topicRef },
        },
      },
      ...UNSCOPED_VPC_FUNCTION_STATEMENTS,
      {
        Sid: 'MskPollerNetwork',
        Effect: 'Allow',
        Action: ['ec2:DescribeSecurityGroups', 'ec2:DescribeVpcs'],
        Resource: '*',
      },
    ];
    const key = (s: unknown) => JSON.stringify(s, Object.keys(s as object).sort());
    expect(statements.map(key).sort()).toEqual(expected.map(key).sort());
  });

  test('the mapping reads telemetry.alerts as its group, dead-letters to dlq.alerting, with the alerting settings', () => {
    expect(
      Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map((m) => m.Properties),
    ).toEqual([
      {
        AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: `alerting-${ALERTS}` },
        BatchSize: 100,
        DestinationConfig: { OnFailure: { Destination: `kafka://${DLQ}` } },
        EventSourceArn: CLUSTER_ARN,
        FunctionName: { Ref: ref(alerting.consumer.function.fn) },
        MaximumBatchingWindowInSeconds: 1,
        MaximumRecordAgeInSeconds: -1,
        MaximumRetryAttempts: 10,
        ProvisionedPollerConfig: { MaximumPollers: 1, MinimumPollers: 1 },
        StartingPosition: 'TRIM_HORIZON',
        Topics: [ALERTS],
      },
    ]);
  });

  test('the function: the alerting outage bound and dedupe horizon, the topic ARN and the catalog names', () => {
    const fn = template.toJSON().Resources[ref(alerting.consumer.function.fn)].Properties;
    expect(fn.Timeout).toBe(142); // ceil(15 min x 60 / 11) = 82 s retry budget + 60 s headroom
    expect(fn.MemorySize).toBe(256);
    expect(fn.Environment.Variables).toEqual({
      POWERTOOLS_SERVICE_NAME: 'streaming-dev-alerting',
      POWERTOOLS_METRICS_NAMESPACE: 'StreamingPlatform',
      CONSUMER_NAME: 'alerting',
      BOOTSTRAP_BROKERS: 'b-1:9098',
      KAFKA_AUTH: 'iam',
      DEAD_LETTER_TOPIC: DLQ,
      RETRY_BUDGET_SECONDS: '82',
      STATE_TABLE: { Ref: ref(alerting.table.table) },
      DEDUPE_HORIZON_SECONDS: String(7 * DAY),
      CLAIM_LEASE_SECONDS: '142',
      ALERTS_TOPIC: ALERTS,
      SNS_TOPIC_ARN: topicRef,
    });
  });

  test('the state table is encrypted with the platform key', () => {
    expect(template.toJSON().Resources[ref(alerting.table.table)].Properties.SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: 'KMS',
      KMSMasterKeyId: keyArn,
    });
  });
});
