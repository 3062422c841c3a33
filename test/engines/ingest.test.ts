/**
 * The ingest function on a real Kafka 3.9 broker: its handler and logic, unchanged, with the one
 * difference the local broker forces (KAFKA_AUTH=none instead of MSK IAM; the IAM signer cannot be
 * exercised without AWS). events.user is created with the configs the dev template carries.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { Admin } from 'kafkajs';
import type * as IngestHandler from '../../lambda/ingest/index';
import { APP_EVENT_SCHEMA_VERSION, appEventJsonSchema } from '../../lambda/shared/contract/app-event';
import { createKafka } from '../../lambda/shared/kafka-client';
import { ingest } from '../../lambda/ingest/ingest';
import { TOPIC_SPECS } from '../../lib/topics/topic-specs';
import { invalidEvents, sampleEvents } from '../../tools/send-events';
import { synthEnvironment } from '../support/synth';
import { templateTopics } from '../support/templates';
import {
  bootstrap,
  connectAdmin,
  consumeRecords,
  createTemplateTopics,
  deleteTopicsAndWait,
  topicSize,
} from './harness/clients';

const TOPIC = TOPIC_SPECS.eventsUser.name;
let admin: Admin;
let fn: typeof IngestHandler;

function apiEvent(body: unknown, base64 = false): APIGatewayProxyEvent {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    body: base64 ? Buffer.from(text).toString('base64') : text,
    isBase64Encoded: base64,
    requestContext: { requestId: 'test' },
  } as unknown as APIGatewayProxyEvent;
}

beforeAll(async () => {
  admin = await connectAdmin();
  await createTemplateTopics(
    admin,
    templateTopics(synthEnvironment('dev').streaming).filter((t) => t.name === TOPIC),
  );
  // The function reads its configuration from the environment the construct sets.
  Object.assign(process.env, {
    EVENTS_TOPIC: TOPIC,
    MAX_BATCH_SIZE: '100',
    BOOTSTRAP_BROKERS: bootstrap(),
    KAFKA_AUTH: 'none',
  });
  fn = await import('../../lambda/ingest/index');
});

afterAll(async () => {
  await fn.closeProducer();
  await deleteTopicsAndWait(admin, [TOPIC]);
  await admin.disconnect();
});

test('a valid event is written once, keyed by userId, unchanged', async () => {
  const [event] = sampleEvents(1, 1);
  const before = await topicSize(admin, TOPIC);
  const response = await fn.handler(apiEvent(event));
  expect(response.statusCode).toBe(202);
  expect(JSON.parse(response.body)).toEqual({
    results: [{ index: 0, eventId: event!.eventId, status: 'accepted' }],
  });
  expect(await topicSize(admin, TOPIC)).toBe(before + 1);
  const records = await consumeRecords(TOPIC, before + 1);
  const written = records.filter(
    (r) => r.value && (JSON.parse(r.value) as { eventId: string }).eventId === event!.eventId,
  );
  expect(written).toHaveLength(1);
  expect(written[0]!.key).toBe(event!.userId);
  expect(JSON.parse(written[0]!.value!)).toEqual(event);
  expect(written[0]!.headers).toMatchObject({
    'content-type': 'application/json',
    'schema-version': String(APP_EVENT_SCHEMA_VERSION),
  });
});

test('a batch lands completely, each user on one partition in send order', async () => {
  const events = sampleEvents(60, 7);
  const before = await topicSize(admin, TOPIC);
  const response = await fn.handler(apiEvent({ events }, true));
  expect(response.statusCode).toBe(202);
  const results = (JSON.parse(response.body) as { results: { eventId: string; status: string }[] }).results;
  expect(results.map((r) => r.eventId)).toEqual(events.map((e) => e.eventId));
  expect(new Set(results.map((r) => r.status))).toEqual(new Set(['accepted']));
  expect(await topicSize(admin, TOPIC)).toBe(before + events.length);

  const ids = new Set(events.map((e) => e.eventId));
  const records = (await consumeRecords(TOPIC, before + events.length)).filter(
    (r) => r.value && ids.has((JSON.parse(r.value) as { eventId: string }).eventId),
  );
  expect(records).toHaveLength(events.length);
  for (const user of new Set(events.map((e) => e.userId))) {
    const mine = records.filter((r) => r.key === user);
    expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
    const sentOrder = events.filter((e) => e.userId === user).map((e) => e.eventId);
    const readOrder = mine
      .sort((a, b) => Number(a.offset) - Number(b.offset))
      .map((r) => (JSON.parse(r.value!) as { eventId: string }).eventId);
    expect(readOrder).toEqual(sentOrder);
  }
});

test('one invalid event refuses the whole batch with per-item, per-field reasons; nothing is written', async () => {
  const valid = sampleEvents(3, 2);
  const [badId, badFields, badVersion] = invalidEvents(3);
  const before = await topicSize(admin, TOPIC);
  const response = await fn.handler(
    apiEvent({ events: [valid[0], badId, valid[1], badFields, badVersion, valid[2]] }),
  );
  expect(response.statusCode).toBe(400);
  const body = JSON.parse(response.body) as {
    error: string;
    results: { index: number; status: string; errors?: { field: string; message: string }[] }[];
  };
  expect(body.error).toBe('invalid_events');
  expect(body.results.map((r) => r.status)).toEqual([
    'not_written',
    'invalid',
    'not_written',
    'invalid',
    'invalid',
    'not_written',
  ]);
  expect(body.results[1]!.errors).toEqual([{ field: 'eventId', message: 'must be a UUID' }]);
  expect(body.results[3]!.errors!.map((e) => e.field).sort()).toEqual(['occurredAt', 'type', 'userId']);
  expect(body.results[3]!.errors!.find((e) => e.field === 'occurredAt')!.message).toContain(
    'ISO-8601 UTC time with milliseconds',
  );
  expect(body.results[4]!.errors).toEqual([{ field: 'schemaVersion', message: 'must be 1' }]);
  expect(await topicSize(admin, TOPIC)).toBe(before);
});

test.each([
  ['not JSON', '{"eventId": ', 'invalid_json'],
  ['an empty batch', { events: [] }, 'invalid_request'],
  ['a batch over the limit', { events: sampleEvents(101, 3) }, 'batch_too_large'],
  [
    'a duplicate eventId',
    (() => {
      const [e] = sampleEvents(1, 1);
      return { events: [e, e] };
    })(),
    'invalid_events',
  ],
])('%s is refused with 400 and nothing is written', async (_name, body, error) => {
  const before = await topicSize(admin, TOPIC);
  const response = await fn.handler(apiEvent(body));
  expect(response.statusCode).toBe(400);
  expect((JSON.parse(response.body) as { error: string }).error).toBe(error);
  expect(await topicSize(admin, TOPIC)).toBe(before);
});

test('a write Kafka does not confirm answers 503 with every item unknown, so the client retries', async () => {
  const producer = createKafka({ brokers: bootstrap(), auth: 'none', clientId: 'ingest-test' }).producer({
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  await producer.disconnect(); // a producer that cannot send
  const events = sampleEvents(2, 1);
  const response = await ingest(JSON.stringify({ events }), { producer, topic: TOPIC, maxBatchSize: 10 });
  expect(response.statusCode).toBe(503);
  expect(response.body.results!.map((r) => r.status)).toEqual(['unknown', 'unknown']);
});

test('the published JSON Schema is the schema the function validates with', () => {
  const schema = appEventJsonSchema() as { required: string[]; properties: Record<string, unknown> };
  expect(schema.required.sort()).toEqual(['eventId', 'occurredAt', 'schemaVersion', 'type', 'userId']);
  expect(Object.keys(schema.properties).sort()).toEqual([
    'country',
    'eventId',
    'occurredAt',
    'properties',
    'schemaVersion',
    'type',
    'userId',
  ]);
});
