/**
 * The telemetry bridge end to end on real engines: simulated devices publish to Mosquitto, the local
 * bridge (tools/mqtt-bridge.ts) projects every message with the definition the IoT Core rule is
 * rendered from (lib/iot/telemetry-bridge.ts) and produces to telemetry.raw on the Kafka broker of
 * global-setup.ts, created with exactly the configs of the dev template. Malformed payloads take the
 * error path: the IoT error-action document, written as a file (S3 cannot run here).
 *
 * Proved here: every published message is accounted for (delivered + kept on the error path =
 * published, nothing twice); records are keyed by device id, carry the payload plus deviceId and
 * receivedAt, and arrive in publish order per device; each error document gives back the original
 * bytes. Not reproducible locally: the rules engine itself (the rule as rendered and the projection
 * semantics are pinned without engines by test/unit/telemetry-bridge.test.ts and
 * test/unit/iot.test.ts), SCRAM/TLS to MSK (the SCRAM ACLs are proven by kafka-acls.test.ts), the
 * VPC destination.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { logLevel, type Admin, type Consumer } from 'kafkajs';
import {
  FAILED_ACTION,
  ISO_UTC_MILLIS,
  TELEMETRY_BRIDGE,
  telemetryBridge,
  type IotErrorActionDocument,
} from '../../lib/iot/telemetry-bridge';
import { TOPIC_SPECS } from '../../lib/topics/topic-specs';
import {
  MALFORMED_KINDS,
  deviceTopic,
  localConnector,
  planTelemetry,
  publishPlan,
  type PlannedMessage,
} from '../../tools/device-simulator';
import { startBridge, type BridgeHandle } from '../../tools/mqtt-bridge';
import { synthEnvironment } from '../support/synth';
import { templateTopics } from '../support/templates';
import {
  bootstrap,
  connectAdmin,
  createTemplateTopics,
  deleteTopicsAndWait,
  kafkaClient,
} from './harness/clients';
import { ENGINES_DIR } from './harness/kafka';
import { ensureMosquitto } from './harness/mosquitto';

const TOPIC = TOPIC_SPECS.telemetryRaw.name;
const bytes = (s: string) => Buffer.from(s, 'utf8');
const withoutReceivedAt = (value: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(value).filter(([name]) => name !== 'receivedAt'));

describe('MQTT → local bridge → telemetry.raw (Mosquitto, Kafka 3.9)', () => {
  const run = randomUUID().slice(0, 8);
  const errorDir = join(ENGINES_DIR, `iot-errors-${run}`);
  const group = `iot-bridge-test-${run}`;
  const deviceIds = Array.from({ length: 4 }, (_, i) => `sim-${run}-${i + 1}`);
  const ours = new Set(deviceIds);
  const bridgeLog: string[] = [];
  const consumed: { partition: number; key: string; value: Record<string, unknown> }[] = [];
  let mqttUrl: string;
  let admin: Admin | undefined;
  let bridge: BridgeHandle | undefined;
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    mqttUrl = (await ensureMosquitto()).url;
    admin = await connectAdmin();
    const topics = templateTopics(synthEnvironment('dev').streaming).filter((t) => t.name === TOPIC);
    expect(topics).toHaveLength(1);
    // false would mean the topic already exists: another run shares this broker.
    expect(await createTemplateTopics(admin, topics)).toBe(true);
    bridge = await startBridge({
      mqttUrl,
      kafkaBrokers: [bootstrap()],
      errorDir,
      clientId: `telemetry-bridge-${run}`,
      sessionExpirySeconds: 0,
      kafkaLogLevel: logLevel.NOTHING,
      log: (line) => bridgeLog.push(line),
    });
    consumer = kafkaClient(`iot-bridge-test-${run}`).consumer({ groupId: group });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        const key = message.key?.toString() ?? '';
        if (ours.has(key)) {
          consumed.push({
            partition,
            key,
            value: JSON.parse(message.value!.toString()) as Record<string, unknown>,
          });
        }
        return Promise.resolve();
      },
    });
  });

  afterAll(async () => {
    await bridge?.stop();
    await consumer?.disconnect();
    if (admin) {
      await admin.deleteGroups([group]).catch(() => undefined);
      await deleteTopicsAndWait(admin, [TOPIC]);
      await admin.disconnect();
    }
    rmSync(errorDir, { recursive: true, force: true });
  });

  /** Error documents of this run's devices, with their path relative to the error directory. */
  function errorDocuments(): { path: string; doc: IotErrorActionDocument }[] {
    if (!existsSync(errorDir)) return [];
    return readdirSync(errorDir, { recursive: true, encoding: 'utf8' })
      .filter((p) => p.endsWith('.json'))
      .map((path) => ({
        path,
        doc: JSON.parse(readFileSync(join(errorDir, path), 'utf8')) as IotErrorActionDocument,
      }))
      .filter(({ doc }) => deviceIds.some((id) => doc.topic === deviceTopic(id)));
  }

  test('every published message is delivered or kept on the error path, in order per device, keyed by device id', async () => {
    const plans = planTelemetry({ deviceIds, messagesPerDevice: 25, malformed: 8, seed: 7 });
    // A JSON object that violates the contract (no temperature): passed through, not dropped.
    const violating: PlannedMessage = {
      deviceId: deviceIds[0]!,
      topic: deviceTopic(deviceIds[0]!),
      payload: bytes(
        JSON.stringify({ ts: new Date().toISOString(), humidity: 40, battery: 80, status: 'ok', seq: 999 }),
      ),
      kind: 'telemetry',
    };
    plans[0]!.push(violating);
    const published = plans.flat();
    const isObject = (m: PlannedMessage) => m.kind === 'telemetry';
    expect(published.filter((m) => !isObject(m))).toHaveLength(8);
    expect(new Set(published.filter((m) => !isObject(m)).map((m) => m.kind))).toEqual(
      new Set(MALFORMED_KINDS),
    );

    const started = Date.now();
    const summary = await publishPlan(plans, localConnector(mqttUrl));
    expect(summary.published).toBe(published.length); // 4 × 25 + 8 + 1 = 109

    const expectedDelivered = published.filter(isObject).length;
    const expectedErrors = published.length - expectedDelivered;
    const deadline = Date.now() + 30_000;
    while (consumed.length < expectedDelivered || errorDocuments().length < expectedErrors) {
      if (Date.now() > deadline) {
        throw new Error(
          `after 30 s: ${consumed.length}/${expectedDelivered} records, ${errorDocuments().length}/${expectedErrors} error documents\n` +
            `${JSON.stringify(bridge!.counters)}\n${bridgeLog.slice(-20).join('\n')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await bridge!.idle();
    await new Promise((r) => setTimeout(r, 500)); // anything extra (a duplicate) would show up now
    const finished = Date.now();
    const docs = errorDocuments();

    // Accounting: delivered + errored = published, nothing twice.
    expect(consumed.length + docs.length).toBe(published.length);
    expect(consumed).toHaveLength(expectedDelivered);
    expect(docs).toHaveLength(expectedErrors);

    for (const deviceId of deviceIds) {
      const records = consumed.filter((r) => r.key === deviceId);
      // One key, one partition; records are the payloads in publish order plus the projected fields.
      expect(new Set(records.map((r) => r.partition)).size).toBe(1);
      const sent = published.filter((m) => m.deviceId === deviceId && isObject(m));
      expect(records.map((r) => withoutReceivedAt(r.value))).toEqual(
        sent.map((m) => ({ ...(JSON.parse(m.payload.toString()) as object), deviceId })),
      );
      const receivedAt = records.map((r) => r.value.receivedAt as string);
      for (const at of receivedAt) {
        expect(at).toMatch(ISO_UTC_MILLIS);
        expect(Date.parse(at)).toBeGreaterThanOrEqual(started - 1);
        expect(Date.parse(at)).toBeLessThanOrEqual(finished);
      }
      expect(receivedAt).toEqual([...receivedAt].sort());
      // Telemetry seq numbers arrive 0..24 in order (the violating record carries 999).
      expect(records.map((r) => r.value.seq)).toEqual(
        sent.map((m) => (JSON.parse(m.payload.toString()) as { seq: number }).seq),
      );
    }
    const passedThrough = consumed.find((r) => r.value.seq === 999)!;
    expect(passedThrough.value).not.toHaveProperty('temperature');

    // Error path: each malformed payload kept once, original bytes recoverable, in the error-action shape.
    const keptPerTopic = (list: { topic: string; bytes: Buffer }[]) =>
      list.map((x) => `${x.topic} ${x.bytes.toString('hex')}`).sort();
    expect(
      keptPerTopic(
        docs.map(({ doc }) => ({
          topic: doc.topic,
          bytes: Buffer.from(doc.base64OriginalPayload, 'base64'),
        })),
      ),
    ).toEqual(
      keptPerTopic(published.filter((m) => !isObject(m)).map((m) => ({ topic: m.topic, bytes: m.payload }))),
    );
    for (const { path, doc } of docs) {
      expect(Object.keys(doc).sort()).toEqual(
        ['base64OriginalPayload', 'clientId', 'cloudwatchTraceId', 'failures', 'ruleName', 'topic'].sort(),
      );
      expect(doc.ruleName).toBe(TELEMETRY_BRIDGE.ruleName);
      expect(doc.failures).toEqual([
        {
          failedAction: FAILED_ACTION.ruleEvaluation,
          failedResource: TELEMETRY_BRIDGE.topicFilter,
          errorMessage: expect.stringMatching(/^not-(json|object): /),
        },
      ]);
      // The file sits where the S3 error action key template puts the object.
      expect(path).toMatch(
        new RegExp(
          `^${TELEMETRY_BRIDGE.ruleName}/\\d{4}/\\d{2}/\\d{2}/\\d{2}/\\d+-${doc.cloudwatchTraceId}\\.json$`,
        ),
      );
    }
    const reasons = docs.map(({ doc }) => {
      const original = Buffer.from(doc.base64OriginalPayload, 'base64');
      const kind = published.find((m) => m.topic === doc.topic && m.payload.equals(original))!.kind;
      return `${kind} -> ${doc.failures[0]!.errorMessage.split(':')[0]}`;
    });
    expect(new Set(reasons)).toEqual(
      new Set([
        'binary -> not-json',
        'truncated-json -> not-json',
        'json-array -> not-object',
        'json-scalar -> not-object',
      ]),
    );

    // The bridge's own books balance (the broker is shared, so its totals may include others' messages).
    const c = bridge!.counters;
    expect(c.received).toBe(c.delivered + c.errored + c.inFlight);
    expect(c.delivered).toBeGreaterThanOrEqual(expectedDelivered);
    expect(c.erroredBy['not-json'] + c.erroredBy['not-object']).toBeGreaterThanOrEqual(expectedErrors);
    expect(c.erroredBy.kafka).toBe(0);
    expect(c.contractViolations).toBeGreaterThanOrEqual(1);
  });

  test('a record Kafka does not take is kept as a KafkaAction error document (the error action case)', async () => {
    // Same projection, but the Kafka topic does not exist (topic auto-creation is off), so every send fails.
    const absent = `${TOPIC}-absent-${run}`;
    const probe = {
      ...telemetryBridge({ topicFilter: `probe-${run}/+/telemetry`, ruleName: 'kafka_failure_probe' }),
      kafkaTopic: absent,
    };
    const dir = join(errorDir, 'kafka-failure');
    const failing = await startBridge({
      mqttUrl,
      kafkaBrokers: [bootstrap()],
      errorDir: dir,
      definition: probe,
      clientId: `telemetry-bridge-probe-${run}`,
      sessionExpirySeconds: 0,
      kafkaLogLevel: logLevel.NOTHING,
      kafkaRetry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 },
      log: (line) => bridgeLog.push(line),
    });
    try {
      const plans = planTelemetry({ deviceIds: [`probe-${run}`], messagesPerDevice: 2, definition: probe });
      expect((await publishPlan(plans, localConnector(mqttUrl))).published).toBe(2);
      const files = () =>
        existsSync(dir)
          ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => p.endsWith('.json'))
          : [];
      const deadline = Date.now() + 30_000;
      while (files().length < 2) {
        if (Date.now() > deadline) throw new Error(`no error documents: ${bridgeLog.slice(-5).join('\n')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await failing.idle();
      const docs = files().map(
        (p) => JSON.parse(readFileSync(join(dir, p), 'utf8')) as IotErrorActionDocument,
      );
      expect(docs.map((d) => Buffer.from(d.base64OriginalPayload, 'base64').toString()).sort()).toEqual(
        plans[0]!.map((m) => m.payload.toString()).sort(),
      );
      for (const doc of docs) {
        expect(doc).toMatchObject({ ruleName: 'kafka_failure_probe', topic: plans[0]![0]!.topic });
        expect(doc.failures).toEqual([
          { failedAction: FAILED_ACTION.kafka, failedResource: absent, errorMessage: expect.any(String) },
        ]);
      }
      expect(failing.counters).toMatchObject({ received: 2, delivered: 0, errored: 2, inFlight: 0 });
      expect(failing.counters.erroredBy.kafka).toBe(2);
    } finally {
      await failing.stop();
    }
  });
});
