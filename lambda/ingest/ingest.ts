/**
 * The ingest logic, independent of API Gateway: parse, validate every event against the schema,
 * then write all of them to events.user (key = userId) with the idempotent producer, or nothing.
 *
 * Contract with callers:
 *   - 202: every event was written (acks=all) and each item says so.
 *   - 400: the body or at least one event is invalid; NOTHING was written; every item says why
 *     (status `invalid` with field errors) or that it was held back (`not_written`).
 *   - 503: Kafka did not confirm the write; some events may have been written. Retry the same
 *     request: events carry eventId, the dedupe key downstream, so a retry is safe.
 */
import type { Producer } from 'kafkajs';
import { validateAppEvent, type AppEvent, type FieldError } from '../shared/contract/app-event';

export interface IngestDeps {
  readonly producer: Producer;
  /** The events.user topic name (from the catalog, through the environment). */
  readonly topic: string;
  readonly maxBatchSize: number;
}

export type ItemResult =
  | { index: number; eventId: string; status: 'accepted' }
  | { index: number; eventId?: string; status: 'invalid'; errors: FieldError[] }
  | { index: number; eventId: string; status: 'not_written' | 'unknown' };

export interface IngestResponse {
  readonly statusCode: 202 | 400 | 503;
  readonly body: {
    readonly error?:
      | 'invalid_json'
      | 'invalid_request'
      | 'batch_too_large'
      | 'invalid_events'
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
  try {
    await deps.producer.send({
      topic: deps.topic,
      acks: -1,
      messages: events.map((e) => ({
        key: e.userId,
        value: JSON.stringify(e),
        headers: { 'content-type': 'application/json', 'schema-version': String(e.schemaVersion) },
      })),
    });
    return {
      statusCode: 202,
      body: {
        results: events.map((e, index) => ({ index, eventId: e.eventId, status: 'accepted' as const })),
      },
    };
  } catch (err) {
    return {
      statusCode: 503,
      body: {
        error: 'kafka_unavailable',
        message: `the write was not confirmed (${(err as Error).message}); retry the same request`,
        results: events.map((e, index) => ({ index, eventId: e.eventId, status: 'unknown' })),
      },
    };
  }
}
