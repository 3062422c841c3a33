/**
 * The windowed aggregate (events.aggregates, key `windowKey`), as ../../../../shared/CONTRACT.md
 * defines it: the aggregate consumer produces it, the OpenSearch documents carry the same fields, and
 * the Snowflake sink keeps the highest `version` per `windowKey`. Money stays per currency.
 */
import * as z from 'zod/mini';

const isoTime = z.iso.datetime({ precision: 3, error: 'must be an ISO-8601 UTC time with milliseconds' });
const count = z.int().check(z.nonnegative('must not be negative'));

export const aggregateRecordV1 = z.looseObject({
  /** `<windowSize>|<windowStart>|<dimension>|<value>`. */
  windowKey: z.string().check(z.minLength(1, 'must not be empty')),
  /** An ISO-8601 duration such as `PT1M` or `PT1H`. */
  windowSize: z.string().check(z.regex(/^P/, 'must be an ISO-8601 duration such as PT1M')),
  windowStart: isoTime,
  windowEnd: isoTime,
  /** The event field the window groups by: `type`, `country`, ... */
  dimension: z.string().check(z.minLength(1, 'must not be empty')),
  /** The field's value, `unknown` for events without it. */
  value: z.string(),
  events: count,
  /** Distinct userIds (a HyperLogLog estimate, precision 12). */
  users: count,
  /** ISO-4217 currency -> the sum of minor units; currencies are never added together. */
  revenueCents: z.record(z.string().check(z.regex(/^[A-Z]{3}$/, 'must be an ISO-4217 code')), z.int()),
  updatedAt: isoTime,
  /** Only grows for a given windowKey: the higher version supersedes. */
  version: z.int().check(z.positive('must be positive')),
});

export type AggregateRecord = z.infer<typeof aggregateRecordV1>;
