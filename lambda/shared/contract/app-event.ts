/**
 * The app event (events.user) schema, version 1: the ONE definition. The ingest function validates
 * with it, the CLI and tests generate with it, and `npm run schemas` exports it as JSON Schema
 * (schemas/events.user.v1.schema.json) for app teams. Add optional fields freely; a breaking change
 * needs a new schemaVersion.
 *
 * Written with `zod/mini`, zod's tree-shakable API: the same schemas, messages and JSON Schema as
 * the chaining API, at 25 kB of a function's bundle instead of 280 kB.
 */
import * as z from 'zod/mini';

export const APP_EVENT_SCHEMA_VERSION = 1;

/** At most 16 KiB for `properties`, serialized. */
export const MAX_PROPERTIES_BYTES = 16 * 1024;

/** Adds a description (it becomes the JSON Schema's `description`). */
function described<T extends z.ZodMiniType>(schema: T, description: string): T {
  z.globalRegistry.add(schema, { description });
  return schema;
}

export const appEventV1 = described(
  z.looseObject({
    eventId: described(z.uuid('must be a UUID'), 'Unique per event; the dedupe key everywhere downstream'),
    userId: z
      .string()
      .check(z.minLength(1, 'must not be empty'), z.maxLength(128, 'must be at most 128 characters')),
    type: described(
      z.string().check(z.regex(/^[a-z][a-z0-9_]{0,63}$/, 'must match [a-z][a-z0-9_]{0,63}, e.g. page_view')),
      'page_view, click, add_to_cart, purchase, ...',
    ),
    occurredAt: described(
      z.iso.datetime({
        precision: 3,
        error: 'must be an ISO-8601 UTC time with milliseconds, e.g. 2026-11-25T06:33:57.123Z',
      }),
      'When it happened on the client; event time downstream',
    ),
    country: z.optional(
      z.string().check(z.regex(/^[A-Z]{2}$/, 'must be an ISO-3166 alpha-2 code such as DE')),
    ),
    properties: z.optional(
      z.record(z.string(), z.unknown()).check(
        z.refine((p) => Buffer.byteLength(JSON.stringify(p), 'utf8') <= MAX_PROPERTIES_BYTES, {
          message: `must be at most ${MAX_PROPERTIES_BYTES} bytes serialized`,
        }),
      ),
    ),
    schemaVersion: z.literal(APP_EVENT_SCHEMA_VERSION, `must be ${APP_EVENT_SCHEMA_VERSION}`),
  }),
  'An app event on events.user (key: userId)',
);

export type AppEvent = z.infer<typeof appEventV1>;

/** One field's problem, as the ingest endpoint reports it. */
export interface FieldError {
  /** Dotted path of the field, e.g. `occurredAt` or `properties`; empty for the event itself. */
  readonly field: string;
  readonly message: string;
}

/** Validates one app event, returning it or every field error. */
export function validateAppEvent(
  input: unknown,
): { ok: true; event: AppEvent } | { ok: false; errors: FieldError[] } {
  const parsed = z.safeParse(appEventV1, input);
  if (parsed.success) return { ok: true, event: parsed.data };
  return {
    ok: false,
    errors: parsed.error.issues.map((i) => ({ field: i.path.map(String).join('.'), message: i.message })),
  };
}

/** The JSON Schema (draft-07) of an app event, as published for app teams. */
export function appEventJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://schemas.streaming-platform.internal/events.user.v1.schema.json',
    ...z.toJSONSchema(appEventV1, { target: 'draft-7' }),
  };
}
