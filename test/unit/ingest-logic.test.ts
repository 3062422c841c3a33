/**
 * The ingest logic with a producer that records what it is asked to send: what reaches Kafka, and
 * what never does. The same logic on the real broker: test/engines/ingest.test.ts.
 */
import type { Producer, ProducerRecord } from 'kafkajs';
import {
  ingest,
  isMessageTooLarge,
  recordBatchLimit,
  recordBytes,
  RECORD_BATCH_OVERHEAD,
  type IngestResponse,
} from '../../lambda/ingest/ingest';
import { sampleEvents } from '../../tools/send-events';

/* eslint-disable @typescript-eslint/no-require-imports */
const { KafkaJSNonRetriableError, KafkaJSProtocolError } = require('kafkajs/src/errors') as {
  KafkaJSNonRetriableError: new (e: unknown, o?: { cause?: unknown }) => Error;
  KafkaJSProtocolError: new (e: unknown) => Error & { type: string };
};
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as {
  createErrorFromCode: (c: number) => unknown;
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** The contract's required fields of events.user (../shared/CONTRACT.md), written out by hand. */
const REQUIRED_FIELDS = ['eventId', 'userId', 'type', 'occurredAt', 'schemaVersion'];
const ONE_MIB = 1024 * 1024;

function recordingProducer(fail?: Error): { producer: Producer; sent: ProducerRecord[] } {
  const sent: ProducerRecord[] = [];
  const producer = {
    send: (record: ProducerRecord) => {
      sent.push(record);
      return fail === undefined ? Promise.resolve([]) : Promise.reject(fail);
    },
  } as unknown as Producer;
  return { producer, sent };
}

function run(body: unknown, fail?: Error): Promise<IngestResponse & { sent: ProducerRecord[] }> {
  const { producer, sent } = recordingProducer(fail);
  return ingest(typeof body === 'string' ? body : JSON.stringify(body), {
    producer,
    topic: 'events.user',
    maxBatchSize: 100,
    maxMessageBytes: ONE_MIB,
  }).then((response) => ({ ...response, sent }));
}

describe('required fields', () => {
  test('the contract required fields are exactly those the schema requires', async () => {
    const [event] = sampleEvents(1, 1);
    const missing = await run({});
    expect(missing.statusCode).toBe(400);
    expect(missing.body.results![0]).toMatchObject({ status: 'invalid' });
    const fields = (missing.body.results![0] as { errors: { field: string }[] }).errors
      .map((e) => e.field)
      .sort();
    expect(fields).toEqual([...REQUIRED_FIELDS].sort());
    expect(
      Object.keys(event!)
        .filter((k) => !REQUIRED_FIELDS.includes(k))
        .sort(),
    ).toEqual(['country', 'properties']);
  });

  test.each(REQUIRED_FIELDS)(
    'without %s: 400, that field named, nothing sent, no eventId invented',
    async (field) => {
      const [event] = sampleEvents(1, 1);
      const incomplete: Record<string, unknown> = { ...event };
      delete incomplete[field];
      const response = await run({ events: [incomplete, sampleEvents(1, 1)[0]] });
      expect(response.statusCode).toBe(400);
      expect(response.sent).toEqual([]);
      const [item, other] = response.body.results!;
      expect(item).toEqual({
        index: 0,
        ...(field === 'eventId' ? {} : { eventId: event!.eventId }),
        status: 'invalid',
        errors: [{ field, message: expect.any(String) as string }],
      });
      expect(other!.status).toBe('not_written');
    },
  );
});

describe('what is sent', () => {
  test('each event once, unchanged (its own eventId), keyed by userId, acks -1, in order', async () => {
    const events = sampleEvents(3, 2);
    const response = await run({ events });
    expect(response.statusCode).toBe(202);
    expect(response.sent).toEqual([
      {
        topic: 'events.user',
        acks: -1,
        messages: events.map((e) => ({
          key: e.userId,
          value: JSON.stringify(e),
          headers: { 'content-type': 'application/json', 'schema-version': '1' },
        })),
      },
    ]);
    expect(response.body.results).toEqual(
      events.map((e, index) => ({ index, eventId: e.eventId, status: 'accepted' })),
    );
  });
});

describe('size', () => {
  test('the function limit: max.message.bytes minus 256 bytes and 1/256 of it', () => {
    expect(recordBatchLimit(ONE_MIB)).toBe(1_044_224);
    expect(recordBatchLimit(8 * ONE_MIB)).toBe(8_355_584);
    expect(recordBatchLimit(1024)).toBe(764);
  });

  test('a record bound: 36 bytes of varints at their largest, plus 10 per header, plus the bytes', () => {
    expect(recordBytes({ key: 'u', value: 'é', headers: { a: 'bc' } })).toBe(36 + 1 + 2 + 10 + 1 + 2);
    expect(RECORD_BATCH_OVERHEAD).toBe(61);
  });

  test('an event larger than the limit: 413 too_large, that event named, nothing sent', async () => {
    const [small, big] = sampleEvents(2, 1);
    const huge = { ...big!, blob: 'x'.repeat(ONE_MIB) };
    const response = await run({ events: [small, huge] });
    expect(response.statusCode).toBe(413);
    expect(response.sent).toEqual([]);
    expect(response.body.error).toBe('too_large');
    expect(response.body.results!.map((r) => r.status)).toEqual(['not_written', 'too_large']);
  });

  test('events that fit alone but not together: 413, nothing sent', async () => {
    const events = sampleEvents(3, 3).map((e) => ({ ...e, blob: 'x'.repeat(400_000) }));
    const response = await run({ events });
    expect(response.statusCode).toBe(413);
    expect(response.sent).toEqual([]);
    expect(response.body.results!.map((r) => r.status)).toEqual([
      'not_written',
      'not_written',
      'not_written',
    ]);
  });

  test('the broker refusing MESSAGE_TOO_LARGE, as kafkajs wraps it: 413 too_large, items unknown', async () => {
    const protocol = new KafkaJSProtocolError(createErrorFromCode(10));
    expect(protocol.type).toBe('MESSAGE_TOO_LARGE');
    const wrapped = new KafkaJSNonRetriableError(protocol, { cause: protocol });
    expect(isMessageTooLarge(wrapped)).toBe(true);
    const response = await run(sampleEvents(1, 1)[0], wrapped);
    expect(response.statusCode).toBe(413);
    expect(response.body.error).toBe('too_large');
    expect(response.body.results!.map((r) => r.status)).toEqual(['unknown']);
  });

  test('any other failure to send: 503 kafka_unavailable, items unknown', async () => {
    const other = new KafkaJSNonRetriableError(new KafkaJSProtocolError(createErrorFromCode(7)));
    expect(isMessageTooLarge(other)).toBe(false);
    const response = await run(sampleEvents(1, 1)[0], other);
    expect(response.statusCode).toBe(503);
    expect(response.body.error).toBe('kafka_unavailable');
  });
});

describe('connecting', () => {
  test('the producer is only asked for when a valid request has something to send', async () => {
    let asked = 0;
    const { producer, sent } = recordingProducer();
    const deps = {
      producer: () => {
        asked += 1;
        return Promise.resolve(producer);
      },
      topic: 'events.user',
      maxBatchSize: 100,
      maxMessageBytes: ONE_MIB,
    };
    expect((await ingest('{', deps)).statusCode).toBe(400);
    expect((await ingest(JSON.stringify({ eventId: 'x' }), deps)).statusCode).toBe(400);
    const [event] = sampleEvents(1, 1);
    expect((await ingest(JSON.stringify({ ...event, blob: 'x'.repeat(ONE_MIB) }), deps)).statusCode).toBe(
      413,
    );
    expect(asked).toBe(0);
    expect((await ingest(JSON.stringify(event), deps)).statusCode).toBe(202);
    expect(asked).toBe(1);
    expect(sent).toHaveLength(1);
  });

  test('a producer that cannot connect: 503, every item not_written (the client retries)', async () => {
    const events = sampleEvents(2, 1);
    const response = await ingest(JSON.stringify({ events }), {
      producer: () => Promise.reject(new Error('Connection error: connect ECONNREFUSED')),
      topic: 'events.user',
      maxBatchSize: 100,
      maxMessageBytes: ONE_MIB,
    });
    expect(response.statusCode).toBe(503);
    expect(response.body.error).toBe('kafka_unavailable');
    expect(response.body.results!.map((r) => r.status)).toEqual(['not_written', 'not_written']);
  });
});
