/**
 * The SCRAM user's ACLs on a real Kafka 3.9 broker with the StandardAuthorizer and MSK's
 * `allow.everyone.if.no.acl.found=false`: the ACL function's logic (lambda/kafka-acls) applies the
 * very ACLs the IoT bridge construct declares, and a SCRAM-SHA-512 client (as the IoT Core Kafka
 * action is) may then write telemetry.raw and nothing else. The admin connects over PLAINTEXT as a
 * super user here, standing in for the IAM-authenticated function on MSK (IAM cannot run here).
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { producerAcls } from '../../lib/kafka/acl-model';
import { IOT_BRIDGE_SCRAM_USER } from '../../lib/kafka/msk-cluster';
import { TOPIC_SPECS } from '../../lib/topics/topic-specs';
import { syncAcls } from '../../lambda/kafka-acls/acls';
import { synthEnvironment } from '../support/synth';
import { templateTopics } from '../support/templates';
import { createTemplateTopics, kafkaErrorOf } from './harness/clients';
import { LocalKafka } from './harness/kafka';

const password = randomBytes(18).toString('base64url');
let kafka: LocalKafka;
let admin: Admin;
const TELEMETRY: string = TOPIC_SPECS.telemetryRaw.name;
const EVENTS: string = TOPIC_SPECS.eventsUser.name;

/** kafkajs wraps the broker's error code; walk the causes to find it. */
function describeError(error: unknown): string {
  const parts: string[] = [];
  for (
    let e = error as
      | { name?: string; message?: string; type?: string; originalError?: unknown; cause?: unknown }
      | undefined;
    e;
    e = (e.originalError ?? e.cause) as typeof e
  ) {
    parts.push(`${e.name}: ${e.type ?? ''} ${e.message}`);
  }
  return parts.join(' <- ');
}

function scramClient(pass = password): Kafka {
  return new Kafka({
    clientId: 'iot-bridge-test',
    brokers: [kafka.saslBootstrap!],
    sasl: { mechanism: 'scram-sha-512', username: IOT_BRIDGE_SCRAM_USER, password: pass },
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 100 },
  });
}

async function produceAsBridge(topic: string): Promise<void> {
  const producer = scramClient().producer({ allowAutoTopicCreation: false, retry: { retries: 1 } });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ key: 'dev-1', value: '{"temperature":21}' }] });
  } finally {
    await producer.disconnect();
  }
}

beforeAll(async () => {
  kafka = await LocalKafka.start({ scramUsers: [{ name: IOT_BRIDGE_SCRAM_USER, password }] });
  admin = kafka.admin();
  await admin.connect();
  const topics = templateTopics(synthEnvironment('dev').streaming).filter((t) =>
    [TELEMETRY, EVENTS].includes(t.name),
  );
  await createTemplateTopics(admin, topics);
});

afterAll(async () => {
  await admin?.disconnect();
  await kafka?.stop();
});

test('without ACLs the SCRAM user can do nothing', async () => {
  expect(await kafkaErrorOf(() => produceAsBridge(TELEMETRY))).toMatch(
    /TOPIC_AUTHORIZATION_FAILED|not authorized/i,
  );
});

test('a wrong password is refused', async () => {
  const producer = scramClient('wrong').producer();
  expect(await kafkaErrorOf(() => producer.connect())).toMatch(/SASL|authentication/i);
});

test('with the declared ACLs it writes telemetry.raw, and nothing else', async () => {
  const acls = producerAcls(IOT_BRIDGE_SCRAM_USER, TELEMETRY);
  expect(await syncAcls(admin, acls)).toEqual({ created: 2, deleted: 0 });
  // A replayed event changes nothing.
  expect(await syncAcls(admin, acls, acls)).toEqual({ created: 2, deleted: 0 });

  await produceAsBridge(TELEMETRY);
  const offsets = await admin.fetchTopicOffsets(TELEMETRY);
  expect(offsets.reduce((sum, p) => sum + Number(p.high), 0)).toBe(1);

  expect(await kafkaErrorOf(() => produceAsBridge(EVENTS))).toMatch(
    /TOPIC_AUTHORIZATION_FAILED|not authorized/i,
  );

  const consumer = scramClient().consumer({ groupId: 'iot-bridge-reader', retry: { retries: 0 } });
  const crashed = new Promise<string>((resolve) =>
    consumer.on(consumer.events.CRASH, ({ payload }) => resolve(describeError(payload.error))),
  );
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TELEMETRY, fromBeginning: true });
    await consumer.run({ eachMessage: () => Promise.reject(new Error('the SCRAM user must not read')) });
    const outcome = await Promise.race([
      crashed,
      new Promise<string>((r) => setTimeout(() => r('not refused'), 15_000)),
    ]);
    // kafkajs reports the refused FindCoordinator as "coordinator not found"; the broker's authorizer
    // log says what happened.
    expect(outcome).toMatch(/coordinator/i);
    const denial = new RegExp(
      `Principal = User:${IOT_BRIDGE_SCRAM_USER} is Denied operation = DESCRIBE .*resource = Group:LITERAL:iot-bridge-reader`,
    );
    expect(kafka.tail(2000)).toMatch(denial);
  } finally {
    await consumer.disconnect();
  }
});

test('deleting the resource removes the ACLs again', async () => {
  const acls = producerAcls(IOT_BRIDGE_SCRAM_USER, TELEMETRY);
  expect(await syncAcls(admin, [], acls)).toEqual({ created: 0, deleted: 2 });
  expect(await kafkaErrorOf(() => produceAsBridge(TELEMETRY))).toMatch(
    /TOPIC_AUTHORIZATION_FAILED|not authorized/i,
  );
});
