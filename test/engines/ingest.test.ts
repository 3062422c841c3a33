/**
 * The ingest function on a real Kafka 3.9 broker: its handler and logic, unchanged, with the one
 * difference the local broker forces (KAFKA_AUTH=none instead of MSK IAM; the IAM token is proven
 * equal to the AWS signer's in test/unit/kafka-client.test.ts). events.user is created with the
 * configs the dev template carries, and the function gets the environment the dev template gives it.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { Kafka, logLevel, type Admin, type ISocketFactory } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import type * as IngestHandler from '../../lambda/ingest/index';
import { APP_EVENT_SCHEMA_VERSION } from '../../lambda/shared/contract/app-event';
import { createKafka, createProducer, PRODUCER_CONFIG } from '../../lambda/shared/kafka-client';
import { ingest, recordBatchLimit, recordBytes, RECORD_BATCH_OVERHEAD } from '../../lambda/ingest/ingest';
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
/** A topic of this test only, whose max.message.bytes is smaller than the function assumes. */
const SMALL_TOPIC = 'ingest-test.small-limit';
const SMALL_TOPIC_MAX_MESSAGE_BYTES = 64 * 1024;
/** The contract's required fields of events.user (../shared/CONTRACT.md), written out by hand. */
const REQUIRED_FIELDS = ['eventId', 'userId', 'type', 'occurredAt', 'schemaVersion'] as const;

let admin: Admin;
let fn: typeof IngestHandler;
/** The function's environment, as the dev template sets it. */
let environment: Record<string, string>;

function apiEvent(body: unknown, base64 = false): APIGatewayProxyEvent {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    body: base64 ? Buffer.from(text).toString('base64') : text,
    isBase64Encoded: base64,
    requestContext: { requestId: 'test' },
  } as unknown as APIGatewayProxyEvent;
}

function parse(body: string): {
  error?: string;
  message?: string;
  results: {
    index: number;
    eventId?: string;
    status: string;
    errors?: { field: string; message: string }[];
  }[];
} {
  return JSON.parse(body) as ReturnType<typeof parse>;
}

/** An event whose record takes exactly `bytes` (the bound the function checks), padded by an unknown field. */
function eventOfRecordSize(bytes: number): Record<string, unknown> {
  const [event] = sampleEvents(1, 1);
  const padded = { ...event!, padding: '' };
  const size = () =>
    RECORD_BATCH_OVERHEAD +
    recordBytes({
      key: padded.userId,
      value: JSON.stringify(padded),
      headers: { 'content-type': 'application/json', 'schema-version': '1' },
    });
  padded.padding = 'x'.repeat(bytes - size());
  expect(size()).toBe(bytes);
  return padded;
}

/**
 * Creates topics, retrying while a freshly started broker still answers UNKNOWN_TOPIC_OR_PARTITION to
 * kafkajs' wait for leaders, then waits until every partition has a leader.
 */
async function createTopicsReliably(create: () => Promise<unknown>, topics: string[]): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await create();
      break;
    } catch (err) {
      if ((err as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION' || attempt === 5) throw err;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const led = await admin
      .fetchTopicMetadata({ topics })
      .then((m) => m.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)))
      .catch(() => false);
    if (led) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no leaders for ${topics.join(', ')} within 30 s`);
}

beforeAll(async () => {
  admin = await connectAdmin();
  const dev = synthEnvironment('dev');
  await createTopicsReliably(
    () =>
      createTemplateTopics(
        admin,
        templateTopics(dev.streaming).filter((t) => t.name === TOPIC),
      ),
    [TOPIC],
  );
  await createTopicsReliably(
    () =>
      admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: SMALL_TOPIC,
            numPartitions: 1,
            replicationFactor: 1,
            configEntries: [{ name: 'max.message.bytes', value: String(SMALL_TOPIC_MAX_MESSAGE_BYTES) }],
          },
        ],
      }),
    [SMALL_TOPIC],
  );
  const ingestFunction = Object.values(dev.sources.findResources('AWS::Lambda::Function')).find((f) =>
    JSON.stringify(f).includes('EVENTS_TOPIC'),
  ) as { Properties: { Environment: { Variables: Record<string, unknown> } } };
  const variables = ingestFunction.Properties.Environment.Variables;
  // The function reads its configuration from the environment the construct sets; the broker is local.
  environment = {
    EVENTS_TOPIC: variables.EVENTS_TOPIC as string,
    MAX_BATCH_SIZE: variables.MAX_BATCH_SIZE as string,
    MAX_MESSAGE_BYTES: variables.MAX_MESSAGE_BYTES as string,
    BOOTSTRAP_BROKERS: bootstrap(),
    KAFKA_AUTH: 'none',
  };
  Object.assign(process.env, environment);
  fn = await import('../../lambda/ingest/index');
});

afterAll(async () => {
  await fn.closeProducer();
  await deleteTopicsAndWait(admin, [TOPIC, SMALL_TOPIC]);
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

test.each(REQUIRED_FIELDS)(
  'an event without %s is refused with 400 naming the field; nothing is written',
  async (field) => {
    const [event] = sampleEvents(1, 1);
    const incomplete: Record<string, unknown> = { ...event };
    delete incomplete[field];
    const before = await topicSize(admin, TOPIC);
    const response = await fn.handler(apiEvent(incomplete));
    expect(response.statusCode).toBe(400);
    const body = parse(response.body);
    expect(body.error).toBe('invalid_events');
    expect(body.results).toHaveLength(1);
    expect(body.results[0]!.status).toBe('invalid');
    expect(body.results[0]!.errors!.map((e) => e.field)).toEqual([field]);
    // No eventId is invented: the item carries the one the client sent, or none.
    if (field === 'eventId') expect(body.results[0]).not.toHaveProperty('eventId');
    else expect(body.results[0]!.eventId).toBe(event!.eventId);
    expect(await topicSize(admin, TOPIC)).toBe(before);
  },
);

describe('size limits of events.user', () => {
  let limit: number;
  beforeAll(() => {
    limit = recordBatchLimit(Number(environment.MAX_MESSAGE_BYTES));
    expect(Number(environment.MAX_MESSAGE_BYTES)).toBe(1024 * 1024); // the dev catalog's max.message.bytes
  });

  test('an event exactly at the function limit (1 MiB minus the margin) is written, unchanged', async () => {
    const event = eventOfRecordSize(limit);
    const before = await topicSize(admin, TOPIC);
    const response = await fn.handler(apiEvent(event));
    expect(response.statusCode).toBe(202);
    expect(await topicSize(admin, TOPIC)).toBe(before + 1);
    const records = await consumeRecords(TOPIC, before + 1);
    const written = records.filter((r) => r.value?.includes(event.eventId as string));
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0]!.value!)).toEqual(event);
  });

  test.each([
    ['one byte over the function limit', 1],
    ['a 1 MiB event with a large unknown field', 1024 * 1024],
  ])('%s is refused with 413 too_large, no retry-after, nothing written', async (_name, size) => {
    const event = eventOfRecordSize(size === 1 ? limit + 1 : size);
    const before = await topicSize(admin, TOPIC);
    const response = await fn.handler(apiEvent(event));
    expect(response.statusCode).toBe(413);
    expect(response.headers).toEqual({ 'content-type': 'application/json' });
    const body = parse(response.body);
    expect(body.error).toBe('too_large');
    expect(body.results).toEqual([
      {
        index: 0,
        eventId: event.eventId,
        status: 'too_large',
        errors: [{ field: '', message: expect.stringContaining(`at most ${limit} fit`) as string }],
      },
    ]);
    expect(await topicSize(admin, TOPIC)).toBe(before);
  });

  test('events that fit alone but not together are refused with 413; none is written', async () => {
    const [a, b] = [eventOfRecordSize(600_000), eventOfRecordSize(600_000)];
    const before = await topicSize(admin, TOPIC);
    const response = await fn.handler(apiEvent({ events: [a, b] }));
    expect(response.statusCode).toBe(413);
    const body = parse(response.body);
    expect(body.error).toBe('too_large');
    expect(body.message).toContain('send fewer per request');
    expect(body.results.map((r) => r.status)).toEqual(['not_written', 'not_written']);
    expect(await topicSize(admin, TOPIC)).toBe(before);
  });

  test('the broker refusing a batch (MESSAGE_TOO_LARGE) is 413 too_large, never a retry', async () => {
    // The function believes the topic takes 1 MiB; this topic takes 64 KiB.
    const producer = createProducer(
      createKafka({ brokers: bootstrap(), auth: 'none', clientId: 'ingest-test' }),
    );
    await producer.connect();
    try {
      const event = eventOfRecordSize(100_000);
      const before = await topicSize(admin, SMALL_TOPIC);
      const started = Date.now();
      const response = await ingest(JSON.stringify(event), {
        producer,
        topic: SMALL_TOPIC,
        maxBatchSize: 10,
        maxMessageBytes: 1024 * 1024,
      });
      expect(response.statusCode).toBe(413);
      expect(response.body.error).toBe('too_large');
      expect(response.body.message).toContain('MESSAGE_TOO_LARGE');
      expect(response.body.results).toEqual([{ index: 0, eventId: event.eventId, status: 'unknown' }]);
      expect(Date.now() - started).toBeLessThan(5_000); // refused at once, not retried by kafkajs
      expect(await topicSize(admin, SMALL_TOPIC)).toBe(before);
    } finally {
      await producer.disconnect();
    }
  });
});

test('a send that fails for another reason answers 503 with every item unknown (the client retries)', async () => {
  const producer = createProducer(
    createKafka({ brokers: bootstrap(), auth: 'none', clientId: 'ingest-test' }),
  );
  await producer.connect();
  await producer.disconnect(); // a producer that cannot send
  const events = sampleEvents(2, 1);
  const response = await ingest(JSON.stringify({ events }), {
    producer,
    topic: TOPIC,
    maxBatchSize: 10,
    maxMessageBytes: 1024 * 1024,
  });
  expect(response.statusCode).toBe(503);
  expect(response.body.error).toBe('kafka_unavailable');
  expect(response.body.results!.map((r) => r.status)).toEqual(['unknown', 'unknown']);
});

test('with Kafka unreachable: 503 with retry-after for a valid request, still 400 and 413 for the others', async () => {
  jest.resetModules();
  const saved = process.env.BOOTSTRAP_BROKERS;
  process.env.BOOTSTRAP_BROKERS = '127.0.0.1:1'; // nothing listens there
  try {
    const unreachable = await import('../../lambda/ingest/index');
    const [event] = sampleEvents(1, 1);
    const response = await unreachable.handler(apiEvent(event));
    expect(response.statusCode).toBe(503);
    expect(response.headers).toEqual({ 'content-type': 'application/json', 'retry-after': '1' });
    const body = parse(response.body);
    expect(body.error).toBe('kafka_unavailable');
    expect(body.results).toEqual([{ index: 0, eventId: event!.eventId, status: 'not_written' }]);

    // Requests that can never succeed are answered as such, without waiting for Kafka.
    const invalid = await unreachable.handler(apiEvent({ ...event, eventId: undefined }));
    expect(invalid.statusCode).toBe(400);
    const tooLarge = await unreachable.handler(apiEvent({ ...event, blob: 'x'.repeat(1024 * 1024) }));
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.headers).toEqual({ 'content-type': 'application/json' });
  } finally {
    process.env.BOOTSTRAP_BROKERS = saved;
  }
});

/**
 * A socket factory that loses the broker's answer to the first Produce request on purpose: the
 * broker has written the batch, the client sees the connection fail and sends the batch again.
 */
function losingFirstProduceResponse(): { factory: ISocketFactory; lost: () => number } {
  let lost = 0;
  const factory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect);
    const produceRequests = new Set<number>();
    let outbound = Buffer.alloc(0);
    let inbound = Buffer.alloc(0);
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((chunk: Buffer | string, ...rest: unknown[]) => {
      outbound = Buffer.concat([outbound, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, 'binary')]);
      while (outbound.length >= 4 && outbound.length >= 4 + outbound.readInt32BE(0)) {
        const size = outbound.readInt32BE(0);
        if (outbound.readInt16BE(4) === 0) produceRequests.add(outbound.readInt32BE(8)); // api key 0: Produce
        outbound = outbound.subarray(4 + size);
      }
      return write(chunk, ...rest);
    }) as typeof socket.write;
    const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event !== 'data') return emit(event, ...args);
      inbound = Buffer.concat([inbound, args[0] as Buffer]);
      while (inbound.length >= 4 && inbound.length >= 4 + inbound.readInt32BE(0)) {
        const frame = inbound.subarray(0, 4 + inbound.readInt32BE(0));
        inbound = inbound.subarray(frame.length);
        if (lost === 0 && produceRequests.has(frame.readInt32BE(4))) {
          lost += 1;
          socket.destroy(new Error('connection lost after the broker wrote the batch (test)'));
          return true;
        }
        emit('data', frame);
      }
      return true;
    }) as typeof socket.emit;
    socket.setKeepAlive(true, 60_000);
    return socket;
  };
  return { factory, lost: () => lost };
}

describe('a send retried after a lost answer', () => {
  async function sendThroughLossyConnection(idempotent: boolean): Promise<{ copies: number; lost: number }> {
    const { factory, lost } = losingFirstProduceResponse();
    const kafka = new Kafka({
      clientId: 'ingest-retry-test',
      brokers: [bootstrap()],
      socketFactory: factory,
      logLevel: logLevel.NOTHING,
      retry: { retries: 5, initialRetryTime: 100 },
    });
    const producer = idempotent
      ? createProducer(kafka)
      : kafka.producer({ ...PRODUCER_CONFIG, idempotent: false, retry: { ...PRODUCER_CONFIG.retry } });
    await producer.connect();
    const eventId = randomUUID();
    const before = await topicSize(admin, TOPIC);
    try {
      await producer.send({
        topic: TOPIC,
        acks: -1,
        messages: [{ key: 'retry-test', value: JSON.stringify({ eventId }) }],
      });
    } finally {
      await producer.disconnect();
    }
    const records = await consumeRecords(TOPIC, before + 2, { timeoutMs: 5_000 });
    return { copies: records.filter((r) => r.value?.includes(eventId)).length, lost: lost() };
  }

  test('without idempotence it is written twice (the fault really makes the client resend)', async () => {
    expect(await sendThroughLossyConnection(false)).toEqual({ copies: 2, lost: 1 });
  });

  test('with the platform producer (idempotent) the broker drops the resent batch: one copy', async () => {
    expect(await sendThroughLossyConnection(true)).toEqual({ copies: 1, lost: 1 });
  });
});
