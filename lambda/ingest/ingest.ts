/**
 * The ingest logic, independent of API Gateway: parse, validate every event against the schema,
 * then write all of them to events.user (key = userId) with the idempotent producer, or nothing.
 *
 * Contract with callers:
 *   - 202: every event was written (acks=all) and each item says so.
 *   - 400: the body or at least one event is invalid; NOTHING was written; every item says why
 *     (status `invalid` with field errors) or that it was held back (`not_written`).
 *   - 413 `too_large`: the request can never be written as it is, retrying it is pointless.
 *     Either the function's size check refused it before producing (NOTHING written; an event too
 *     large on its own is `too_large`, the others `not_written`; when only the events together are
 *     too large, send fewer per request), or the broker refused a batch as MESSAGE_TOO_LARGE (the
 *     batches of other partitions may have been written: every item `unknown`; send the events in
 *     smaller requests, eventId makes the repeats harmless).
 *   - 503: Kafka did not confirm the write; some events may have been written. Retry the same
 *     request: events carry eventId, the dedupe key downstream, so a retry is safe.
 */
import type { Producer } from 'kafkajs';
import { validateAppEvent, type AppEvent, type FieldError } from '../shared/contract/app-event';
import { PRODUCE_ACKS } from '../shared/kafka-client';

export interface IngestDeps {
  /**
   * The idempotent producer, or a function that connects it: then it is only asked for when there is
   * something to send, so that invalid and oversized requests are answered without Kafka.
   */
  readonly producer: Producer | (() => Promise<Producer>);
  /** The events.user topic name (from the catalog, through the environment). */
  readonly topic: string;
  readonly maxBatchSize: number;
  /** The topic's `max.message.bytes` (from the catalog, through the environment). */
  readonly maxMessageBytes: number;
}

export type ItemResult =
  | { index: number; eventId: string; status: 'accepted' }
  | { index: number; eventId?: string; status: 'invalid'; errors: FieldError[] }
  | { index: number; eventId: string; status: 'too_large'; errors: FieldError[] }
  | { index: number; eventId: string; status: 'not_written' | 'unknown' };

export interface IngestResponse {
  readonly statusCode: 202 | 400 | 413 | 503;
  readonly body: {
    readonly error?:
      | 'invalid_json'
      | 'invalid_request'
      | 'batch_too_large'
      | 'invalid_events'
      | 'too_large'
      | 'kafka_unavailable';
    readonly message?: string;
    readonly results?: ItemResult[];
  };
}

/** Handles one request body: a single event, or `{ "events": [...] }` for a batch. */
export async function ingest(rawBody: string | null | undefined, deps: IngestDeps): Promise<IngestResponse> {
  let body: unknown;
  try {
    body = JSON.parse(rawBody ?? '');
  } catch {
    return { statusCode: 400, body: { error: 'invalid_json', message: 'the request body is not JSON' } };
  }
  const isBatch = typeof body === 'object' && body !== null && !Array.isArray(body) && 'events' in body;
  const items: unknown[] = isBatch ? ((body as { events: unknown }).events as unknown[]) : [body];
  if (!Array.isArray(items) || items.length === 0) {
    return {
      statusCode: 400,
      body: { error: 'invalid_request', message: '"events" must be a non-empty array of events' },
    };
  }
  if (items.length > deps.maxBatchSize) {
    return {
      statusCode: 400,
      body: {
        error: 'batch_too_large',
        message: `at most ${deps.maxBatchSize} events per request (got ${items.length})`,
      },
    };
  }

  const seen = new Set<string>();
  const checked = items.map((item, index) => {
    const result = validateAppEvent(item);
    if (result.ok && seen.has(result.event.eventId)) {
      return {
        index,
        ok: false as const,
        eventId: result.event.eventId,
        errors: [{ field: 'eventId', message: 'appears twice in this batch' }],
      };
    }
    if (result.ok) {
      seen.add(result.event.eventId);
      return { index, ok: true as const, event: result.event };
    }
    const eventId =
      typeof (item as { eventId?: unknown })?.eventId === 'string'
        ? (item as { eventId: string }).eventId
        : undefined;
    return { index, ok: false as const, eventId, errors: result.errors };
  });

  if (checked.some((c) => !c.ok)) {
    const results: ItemResult[] = checked.map((c) =>
      c.ok
        ? { index: c.index, eventId: c.event.eventId, status: 'not_written' }
        : {
            index: c.index,
            ...(c.eventId ? { eventId: c.eventId } : {}),
            status: 'invalid',
            errors: c.errors,
          },
    );
    return {
      statusCode: 400,
      body: { error: 'invalid_events', message: 'nothing was written; fix the invalid events', results },
    };
  }

  const events = checked.map((c) => (c as { event: AppEvent }).event);
  const messages = events.map((e) => ({
    key: e.userId,
    value: JSON.stringify(e),
    headers: { 'content-type': 'application/json', 'schema-version': String(e.schemaVersion) },
  }));
  const limit = recordBatchLimit(deps.maxMessageBytes);
  const sizes = messages.map(recordBytes);
  const total = RECORD_BATCH_OVERHEAD + sizes.reduce((a, b) => a + b, 0);
  if (total > limit) {
    const alone = sizes.map((size) => RECORD_BATCH_OVERHEAD + size > limit);
    return {
      statusCode: 413,
      body: {
        error: 'too_large',
        message: alone.some(Boolean)
          ? `nothing was written; an event may take at most ${limit} bytes as a Kafka record`
          : `nothing was written; these events take ${total} bytes together, at most ${limit} fit in one request: send fewer per request`,
        results: events.map((e, index) =>
          alone[index]
            ? {
                index,
                eventId: e.eventId,
                status: 'too_large' as const,
                errors: [
                  {
                    field: '',
                    message: `takes ${RECORD_BATCH_OVERHEAD + sizes[index]!} bytes as a Kafka record; at most ${limit} fit`,
                  },
                ],
              }
            : { index, eventId: e.eventId, status: 'not_written' as const },
        ),
      },
    };
  }

  let producer: Producer;
  try {
    producer = typeof deps.producer === 'function' ? await deps.producer() : deps.producer;
  } catch (err) {
    return {
      statusCode: 503,
      body: {
        error: 'kafka_unavailable',
        message: `Kafka could not be reached (${(err as Error).message}); nothing was written; retry the same request`,
        results: events.map((e, index) => ({ index, eventId: e.eventId, status: 'not_written' as const })),
      },
    };
  }
  try {
    await producer.send({ topic: deps.topic, acks: PRODUCE_ACKS, messages });
    return {
      statusCode: 202,
      body: {
        results: events.map((e, index) => ({ index, eventId: e.eventId, status: 'accepted' as const })),
      },
    };
  } catch (err) {
    if (isMessageTooLarge(err)) {
      return {
        statusCode: 413,
        body: {
          error: 'too_large',
          message:
            'the broker refused these events as too large (MESSAGE_TOO_LARGE); some may have been written: send them in smaller requests, do not retry this one',
          results: events.map((e, index) => ({ index, eventId: e.eventId, status: 'unknown' as const })),
        },
      };
    }
    return {
      statusCode: 503,
      body: {
        error: 'kafka_unavailable',
        message: `the write was not confirmed (${(err as Error).message}); retry the same request`,
        results: events.map((e, index) => ({ index, eventId: e.eventId, status: 'unknown' as const })),
      },
    };
  }
}

/** The fixed part of a Kafka record batch (message format v2): base offset to record count. */
export const RECORD_BATCH_OVERHEAD = 61;

/**
 * An upper bound of the bytes one record takes in an uncompressed record batch (format v2): its
 * key, value and header bytes, plus every varint at its largest (length 5, attributes 1, timestamp
 * delta 10, offset delta 5, key and value lengths 5 each, header count 5; 5 + 5 per header).
 */
export function recordBytes(message: {
  readonly key: string;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
}): number {
  let bytes = 36 + Buffer.byteLength(message.key, 'utf8') + Buffer.byteLength(message.value, 'utf8');
  for (const [name, value] of Object.entries(message.headers)) {
    bytes += 10 + Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8');
  }
  return bytes;
}

/**
 * The largest record batch the function sends to a topic whose `max.message.bytes` is given: the
 * broker checks the batch as it arrives (the producer sends it uncompressed, so the bound above is
 * exact up to varint sizes) and again after recompressing it when the topic's compression.type
 * asks for another codec. The margin, 256 bytes plus 1/256 of the limit (4,352 bytes of 1 MiB),
 * covers that second check: the framing every codec adds to data it cannot compress (block and
 * frame headers) stays below 0.4% of the data plus a few hundred bytes.
 */
export function recordBatchLimit(maxMessageBytes: number): number {
  return maxMessageBytes - 256 - Math.ceil(maxMessageBytes / 256);
}

/** True when kafkajs reports the broker's MESSAGE_TOO_LARGE (error code 10), however it is wrapped. */
export function isMessageTooLarge(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const e = err as {
    type?: unknown;
    code?: unknown;
    cause?: unknown;
    originalError?: unknown;
    errors?: unknown;
  };
  if (e.type === 'MESSAGE_TOO_LARGE') return true;
  const nested = [e.cause, e.originalError, ...(Array.isArray(e.errors) ? (e.errors as unknown[]) : [])];
  return nested.some((n) => isMessageTooLarge(n, depth + 1));
}
