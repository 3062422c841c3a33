/**
 * What the alerting consumer publishes for one alert (docs/telemetry-path.md, "Alerting"): a subject
 * an e-mail reader can scan, a readable body followed by the alert as JSON, and the message
 * attributes the subscriptions' filter policies read.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sns';
import { ALERT_SEVERITY_LEVELS, type Alert } from '../shared/contract/alert';

/** SNS: a subject must be shorter than 100 characters, without line breaks or control characters. */
export const MAX_SUBJECT_CHARS = 99;

/**
 * SNS: a message, its attributes included, is at most 256 KiB (262,144 bytes). A larger one would be
 * refused on every attempt, so it is dead-lettered without being sent.
 */
export const MAX_SNS_MESSAGE_BYTES = 262_144;

/** The message attribute names (the subscriptions' filter policies name `severityLevel`). */
export const ALERT_ATTRIBUTES = {
  rule: 'rule',
  severity: 'severity',
  deviceId: 'deviceId',
  severityLevel: 'severityLevel',
} as const;

export interface AlertMessage {
  readonly subject: string;
  readonly body: string;
  readonly attributes: Record<string, MessageAttributeValue>;
}

/** Printable ASCII only: anything else (line breaks, control and non-ASCII characters) becomes `?`. */
function printableAscii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

/** `[CRITICAL] temperature_high on sensor-7`, cut with `...` to {@link MAX_SUBJECT_CHARS}. */
export function alertSubject(alert: Pick<Alert, 'severity' | 'rule' | 'deviceId'>): string {
  const subject = printableAscii(`[${alert.severity.toUpperCase()}] ${alert.rule} on ${alert.deviceId}`);
  return subject.length <= MAX_SUBJECT_CHARS ? subject : `${subject.slice(0, MAX_SUBJECT_CHARS - 3)}...`;
}

function detailValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The e-mail body: the alert's fields one per line, its details, then the alert as received (JSON). */
export function alertBody(alert: Alert): string {
  const details = Object.entries(alert.details);
  return [
    `${alert.rule} (${alert.severity}) on device ${alert.deviceId}`,
    '',
    `Device:   ${alert.deviceId}`,
    `Rule:     ${alert.rule}`,
    `Severity: ${alert.severity}`,
    `At:       ${alert.at}`,
    `Alert id: ${alert.alertId}`,
    '',
    'Details:',
    ...(details.length === 0 ? ['  (none)'] : details.map(([k, v]) => `  ${k}: ${detailValue(v)}`)),
    '',
    'The alert as received:',
    JSON.stringify(alert),
  ].join('\n');
}

export function alertAttributes(alert: Alert): Record<string, MessageAttributeValue> {
  return {
    [ALERT_ATTRIBUTES.rule]: { DataType: 'String', StringValue: alert.rule },
    [ALERT_ATTRIBUTES.severity]: { DataType: 'String', StringValue: alert.severity },
    [ALERT_ATTRIBUTES.deviceId]: { DataType: 'String', StringValue: alert.deviceId },
    [ALERT_ATTRIBUTES.severityLevel]: {
      DataType: 'Number',
      StringValue: String(ALERT_SEVERITY_LEVELS[alert.severity]),
    },
  };
}

export function alertMessage(alert: Alert): AlertMessage {
  return { subject: alertSubject(alert), body: alertBody(alert), attributes: alertAttributes(alert) };
}

/**
 * The size SNS counts: the message plus each attribute's name, data type and value (UTF-8 bytes).
 * The subject is not part of the limit, but it is counted here too, to stay on the safe side.
 */
export function messageBytes(message: AlertMessage): number {
  let bytes = Buffer.byteLength(message.body, 'utf8') + Buffer.byteLength(message.subject, 'utf8');
  for (const [name, value] of Object.entries(message.attributes)) {
    bytes += Buffer.byteLength(name, 'utf8');
    bytes += Buffer.byteLength(value.DataType ?? '', 'utf8');
    bytes += Buffer.byteLength(value.StringValue ?? '', 'utf8');
  }
  return bytes;
}
