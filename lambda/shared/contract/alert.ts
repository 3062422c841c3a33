/**
 * The telemetry.alerts value (../../../../shared/CONTRACT.md, "telemetry.alerts", key `deviceId`), as
 * the sessionize job writes it (docs/telemetry-path.md, step 8) and the alerting consumer validates
 * it. Unknown fields are kept (consumers ignore fields they do not know).
 */
import * as z from 'zod/mini';

/** Severities, lowest first (the config's ALERT_SEVERITIES is the same list). */
export const ALERT_SEVERITY_NAMES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITY_NAMES)[number];

/**
 * The numeric `severityLevel` message attribute of a published alert, which the SNS subscriptions'
 * filter policies compare (`severityLevel >= <the subscriber's minimum>`).
 */
export const ALERT_SEVERITY_LEVELS: Readonly<Record<AlertSeverity, number>> = Object.freeze({
  info: 1,
  warning: 2,
  critical: 3,
});

/** An alertId: the lowercase hex SHA-256 of `<rule>|<deviceId>|<anchor>`. */
export const ALERT_ID_PATTERN = /^[0-9a-f]{64}$/;

const time = z.iso.datetime({
  precision: 3,
  error: 'must be an ISO-8601 UTC time with milliseconds, e.g. 2026-11-25T06:33:57.123Z',
});

export const alertV1 = z.looseObject({
  /** Deterministic: the same condition on the same readings gives the same id. */
  alertId: z.string().check(z.regex(ALERT_ID_PATTERN, 'must be 64 lowercase hex characters (SHA-256)')),
  deviceId: z.string().check(z.minLength(1, 'must not be empty')),
  /** `temperature_high`, `battery_low`, `session_errors`, `device_silent`, ... */
  rule: z.string().check(z.minLength(1, 'must not be empty')),
  severity: z.enum(ALERT_SEVERITY_NAMES, `must be one of ${ALERT_SEVERITY_NAMES.join(', ')}`),
  /** When the condition held, in event time. */
  at: time,
  /** The rule's own fields (docs/telemetry-path.md, step 8). */
  details: z.record(z.string(), z.unknown()),
});

export type Alert = z.infer<typeof alertV1>;
