/**
 * The MQTT → Kafka telemetry bridge, defined once.
 *
 * Devices publish `devices/{deviceId}/telemetry`; `telemetry.raw` receives the payload plus
 * `deviceId` (from the topic) and `receivedAt` (when the bridge saw it), keyed by device id. In AWS
 * the bridge is an IoT Core topic rule with the Kafka action; locally (tools/mqtt-bridge.ts) a small
 * process applies the same projection. Both are derived from the one {@link TelemetryBridgeDefinition}
 * below: the rule SQL, the Kafka key template and the error-object key are rendered from it, and
 * {@link project} evaluates the very same field sources (topic level, Joda time pattern) in
 * TypeScript. Pure TypeScript: no CDK imports, usable by the CDK construct, runtime code and tools.
 *
 * Rules-engine behaviour this relies on (AWS IoT Core developer guide):
 * - `topic(n)` returns the n-th segment (1-based) of the topic the message was published to
 *   (iot-sql-functions.html#iot-function-topic).
 * - `timestamp()` is the current time in epoch milliseconds as observed by the rules engine;
 *   `parse_time(pattern, millis, zone)` formats it with a Joda-Time pattern, zone default UTC, SQL
 *   version 2016-03-23 and later (iot-sql-functions.html#iot-sql-function-parse-time).
 * - `SELECT *, expr AS name` adds items to the incoming JSON payload (iot-sql-select.html).
 * - Substitution templates (the Kafka action `key`) are evaluated separately from the SELECT and
 *   cannot reference its aliases, only the original payload, functions and operators
 *   (iot-substitution-templates.html). Hence the key is `${topic(2)}`, not `${deviceId}`.
 * - A payload is only treated as raw bytes when the SQL refers to no JSON names and the SELECT is
 *   `*` alone or only functions; `SELECT *, timestamp() AS ...` is the documented example of a
 *   statement that cannot be used with binary payloads (binary-payloads.html). The WHERE clause page
 *   calls a bare `80` a "non-JSON payload" (iot-sql-where.html).
 * - JSON parse errors are counted by the `ParseError` metric (AWS/IoT, dimension RuleName)
 *   (metrics_dimensions.html#rulemetrics); throttled messages by `RuleMessageThrottled`.
 * - The error action fires when an *action* fails (for example the Kafka action cannot deliver); the
 *   error-handling page says SQL problems are debugged with IoT logging instead
 *   (rule-error-handling.html). Its message is one JSON document per rule and message:
 *   ruleName, topic, cloudwatchTraceId, clientId, base64OriginalPayload, failures[] of
 *   { failedAction, failedResource, errorMessage }.
 *
 * What happens to what (AWS → local):
 * - JSON object that matches the contract → telemetry.raw (both).
 * - JSON object that violates the contract (for example no `temperature`) → passed through to
 *   telemetry.raw (both). The rule cannot validate deeply without silently not matching (a WHERE that
 *   is false drops the message without any error action), so validation belongs to the consumers,
 *   which dead-letter bad records into their dlq.* topics. {@link checkTelemetryContract} reports the
 *   violations for logs and counters; it never routes.
 * - Kafka action fails → error action → error document in S3 (AWS); locally the same document shape as
 *   a JSON file under the error directory, `failedAction: "KafkaAction"`.
 * - Not JSON, truncated JSON, or JSON that is not an object (scalar, array) → in AWS the statement
 *   cannot be evaluated (it names JSON fields, the payload is not JSON): `ParseError` is counted and
 *   **no error action fires** (inferred from the pages above, not observed on a live account).
 *   Nothing on the main rule keeps the bytes, so the platform must deploy the binary-safe capture
 *   rule rendered by {@link renderRawCaptureRuleSql} (to Firehose/S3) and alarm on
 *   {@link parseErrorMetric}; together they make these messages visible and recoverable. Locally the
 *   bridge writes the error document
 *   directly, `failedAction: "RuleEvaluation"` (a local name: AWS has no error document for this).
 *   Top-level arrays are not documented for `SELECT *, ...`; they are rejected here like scalars.
 * - Topic that does not match the filter → no rule, no metric, no error (both): keep devices on
 *   `devices/{their id}/telemetry` with the IoT policy.
 *
 * Known differences: the local producer uses acks=all, while the Kafka action documents `acks` 0 or 1
 * (default 1) (apache-kafka-rule-action.html), so in AWS durability of an acknowledged record rests on
 * the leader; a payload key that duplicates a projected field is replaced (later SELECT item wins:
 * assumed, not documented); `clientId` in local error documents is "n/a" (a subscriber is not told
 * the publisher's client id) and `cloudwatchTraceId` a UUID.
 */
import { TOPIC_SPECS } from '../topics/topic-specs';

/** The AWS IoT SQL version the rule is rendered for (`parse_time` needs 2016-03-23 or later). */
export const AWS_IOT_SQL_VERSION = '2016-03-23';

/** Default MQTT topic filter: the device id is the `+` level. */
export const DEFAULT_TOPIC_FILTER = 'devices/+/telemetry';

/** Default rule name (pattern `^[a-zA-Z0-9_]+$`); the construct may pass its own. */
export const DEFAULT_RULE_NAME = 'telemetry_raw_bridge';

/** ISO-8601 UTC with milliseconds, as a Joda-Time pattern (`'T'`, `'Z'` are quoted literals). */
export const RECEIVED_AT_PATTERN = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'";

/** Where a projected field (or the Kafka key) comes from, evaluable both in IoT SQL and locally. */
export type FieldSource =
  /** One level of the MQTT topic, 1-based: `topic(n)`. */
  | { readonly kind: 'topicLevel'; readonly level: number }
  /** The time the bridge received the message, formatted: `parse_time(pattern, timestamp(), zone)`. */
  | { readonly kind: 'receivedTime'; readonly pattern: string; readonly zone: 'UTC' };

/** A field the projection adds to the payload (`SELECT *, <source> AS <name>`). */
export interface ProjectedField {
  readonly name: string;
  readonly source: FieldSource;
}

/** One piece of the error-object key: literal text, a formatted receive time, epoch millis or a UUID. */
export type KeyPart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'receivedTime'; readonly pattern: string; readonly zone: 'UTC' }
  | { readonly kind: 'epochMillis' }
  | { readonly kind: 'uuid' };

export interface TelemetryBridgeDefinition {
  /** Rule name; also `ruleName` in error documents. */
  readonly ruleName: string;
  /** MQTT topic filter with exactly one `+` level: the device id. */
  readonly topicFilter: string;
  /** The Kafka topic (from the catalog). */
  readonly kafkaTopic: string;
  /** Fields added to the payload, in SELECT order (later items win over payload keys of the same name). */
  readonly fields: readonly ProjectedField[];
  /** The Kafka record key. */
  readonly key: FieldSource;
  /** The key of an error document in the error bucket (locally: its path under the error directory). */
  readonly errorObjectKey: readonly KeyPart[];
}

export interface TelemetryBridgeOptions {
  /** @default 'devices/+/telemetry' */
  readonly topicFilter?: string;
  /** @default 'telemetry_raw_bridge' */
  readonly ruleName?: string;
}

/** Builds the bridge definition; the device id is the topic level of the filter's `+`. */
export function telemetryBridge(options: TelemetryBridgeOptions = {}): TelemetryBridgeDefinition {
  const topicFilter = options.topicFilter ?? DEFAULT_TOPIC_FILTER;
  const ruleName = options.ruleName ?? DEFAULT_RULE_NAME;
  if (!/^[a-zA-Z0-9_]{1,128}$/.test(ruleName)) {
    throw new Error(`ruleName must match ^[a-zA-Z0-9_]{1,128}$ (got "${ruleName}")`);
  }
  const levels = topicFilter.split('/');
  const wildcards = levels.flatMap((level, i) => (level === '+' ? [i + 1] : []));
  if (wildcards.length !== 1 || levels.some((l) => l.includes('#') || (l !== '+' && l.includes('+')))) {
    throw new Error(
      `topicFilter needs exactly one "+" level (the device id) and no "#" (got "${topicFilter}")`,
    );
  }
  if (/['"]/.test(topicFilter) || topicFilter.startsWith('$')) {
    throw new Error(`topicFilter must not contain quotes or start with "$" (got "${topicFilter}")`);
  }
  const deviceId: FieldSource = { kind: 'topicLevel', level: wildcards[0]! };
  return {
    ruleName,
    topicFilter,
    kafkaTopic: TOPIC_SPECS.telemetryRaw.name,
    fields: [
      { name: 'deviceId', source: deviceId },
      { name: 'receivedAt', source: { kind: 'receivedTime', pattern: RECEIVED_AT_PATTERN, zone: 'UTC' } },
    ],
    key: deviceId,
    errorObjectKey: [
      { kind: 'text', text: `${ruleName}/` },
      { kind: 'receivedTime', pattern: 'yyyy/MM/dd/HH', zone: 'UTC' },
      { kind: 'text', text: '/' },
      { kind: 'epochMillis' },
      { kind: 'text', text: '-' },
      { kind: 'uuid' },
      { kind: 'text', text: '.json' },
    ],
  };
}

/** The platform's bridge: `devices/+/telemetry` → telemetry.raw. */
export const TELEMETRY_BRIDGE: TelemetryBridgeDefinition = telemetryBridge();

// ---------------------------------------------------------------------------------------------
// Rendering for AWS IoT Core
// ---------------------------------------------------------------------------------------------

/** A field source as an IoT SQL expression. */
export function renderExpression(source: FieldSource | KeyPart): string {
  switch (source.kind) {
    case 'topicLevel':
      return `topic(${source.level})`;
    case 'receivedTime':
      if (source.pattern.includes('"')) throw new Error(`pattern must not contain '"': ${source.pattern}`);
      return `parse_time("${source.pattern}", timestamp(), "${source.zone}")`;
    case 'epochMillis':
      return 'timestamp()';
    case 'uuid':
      return 'newuuid()';
    case 'text':
      throw new Error('literal text is not an expression');
  }
}

/**
 * The rule SQL, for example
 * `SELECT *, topic(2) AS deviceId, parse_time("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", timestamp(), "UTC") AS receivedAt FROM 'devices/+/telemetry'`.
 */
export function renderRuleSql(definition: TelemetryBridgeDefinition = TELEMETRY_BRIDGE): string {
  const items = definition.fields.map((f) => `${renderExpression(f.source)} AS ${f.name}`);
  return `SELECT ${['*', ...items].join(', ')} FROM '${definition.topicFilter}'`;
}

/** The Kafka action `key` (a substitution template), for example `${topic(2)}`. */
export function renderKafkaKey(definition: TelemetryBridgeDefinition = TELEMETRY_BRIDGE): string {
  return '${' + renderExpression(definition.key) + '}';
}

/**
 * The S3 error action `key` (substitution templates), e.g.
 * `telemetry_raw_bridge/${parse_time(...)}/${timestamp()}-${newuuid()}.json`.
 */
export function renderErrorObjectKey(definition: TelemetryBridgeDefinition = TELEMETRY_BRIDGE): string {
  return definition.errorObjectKey
    .map((part) => (part.kind === 'text' ? part.text : '${' + renderExpression(part) + '}'))
    .join('');
}

/**
 * SQL of the binary-safe capture rule for the same topic filter: only functions and `*`, so the rules
 * engine evaluates it for any payload, JSON or not (binary-payloads.html). Its output has the
 * error-document field names for what the rules engine can supply: `topic`, `clientId`,
 * `cloudwatchTraceId` (the MQTT trace id), `base64OriginalPayload`, plus `receivedAtMillis`. It is the
 * only way to keep the bytes of payloads the main rule cannot parse (they raise ParseError and no
 * error action). It fires for every message, so point it at a batching sink (Firehose → S3).
 */
export function renderRawCaptureRuleSql(definition: TelemetryBridgeDefinition = TELEMETRY_BRIDGE): string {
  return (
    "SELECT encode(*, 'base64') AS base64OriginalPayload, topic() AS topic, clientid() AS clientId, " +
    `traceid() AS cloudwatchTraceId, timestamp() AS receivedAtMillis FROM '${definition.topicFilter}'`
  );
}

/** The CloudWatch metric that counts messages the main rule could not parse (alarm on Sum > 0). */
export function parseErrorMetric(ruleName: string = TELEMETRY_BRIDGE.ruleName): {
  readonly namespace: 'AWS/IoT';
  readonly metricName: 'ParseError';
  readonly dimensions: { readonly RuleName: string };
} {
  return { namespace: 'AWS/IoT', metricName: 'ParseError', dimensions: { RuleName: ruleName } };
}

/** Everything the construct needs from the definition. */
export interface RenderedTelemetryRule {
  readonly ruleName: string;
  readonly sql: string;
  readonly awsIotSqlVersion: typeof AWS_IOT_SQL_VERSION;
  readonly kafka: { readonly topic: string; readonly key: string };
  readonly errorObjectKey: string;
  readonly rawCaptureSql: string;
}

export function renderTopicRule(
  definition: TelemetryBridgeDefinition = TELEMETRY_BRIDGE,
): RenderedTelemetryRule {
  return {
    ruleName: definition.ruleName,
    sql: renderRuleSql(definition),
    awsIotSqlVersion: AWS_IOT_SQL_VERSION,
    kafka: { topic: definition.kafkaTopic, key: renderKafkaKey(definition) },
    errorObjectKey: renderErrorObjectKey(definition),
    rawCaptureSql: renderRawCaptureRuleSql(definition),
  };
}

// ---------------------------------------------------------------------------------------------
// Local evaluation (the same definition, evaluated in TypeScript)
// ---------------------------------------------------------------------------------------------

/**
 * Formats epoch milliseconds in UTC with the subset of Joda-Time patterns the definition uses:
 * `yyyy`, `MM`, `dd`, `HH`, `mm`, `ss`, `S…` (fraction of second), `'quoted text'` (`''` is a quote),
 * and any non-letter character as itself. Anything else throws, so the local bridge can never quietly
 * disagree with what `parse_time` would print.
 */
export function formatJodaUtc(pattern: string, epochMillis: number): string {
  const d = new Date(epochMillis);
  if (Number.isNaN(d.getTime())) throw new Error(`not a time: ${epochMillis}`);
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "'") {
      if (pattern[i + 1] === "'") {
        out += "'"; // '' outside quoted text
        i += 2;
        continue;
      }
      let j = i + 1;
      for (;;) {
        if (j >= pattern.length) throw new Error(`unterminated quote in pattern ${pattern}`);
        if (pattern[j] === "'") {
          if (pattern[j + 1] !== "'") break;
          out += "'"; // '' inside quoted text
          j += 2;
        } else {
          out += pattern[j];
          j++;
        }
      }
      i = j + 1;
      continue;
    }
    if (!/[A-Za-z]/.test(c)) {
      out += c;
      i++;
      continue;
    }
    let n = 1;
    while (pattern[i + n] === c) n++;
    const token = c.repeat(n);
    if (token === 'yyyy') out += pad(d.getUTCFullYear(), 4);
    else if (token === 'MM') out += pad(d.getUTCMonth() + 1, 2);
    else if (token === 'dd') out += pad(d.getUTCDate(), 2);
    else if (token === 'HH') out += pad(d.getUTCHours(), 2);
    else if (token === 'mm') out += pad(d.getUTCMinutes(), 2);
    else if (token === 'ss') out += pad(d.getUTCSeconds(), 2);
    else if (c === 'S') out += pad(d.getUTCMilliseconds(), 3).slice(0, n).padEnd(n, '0');
    else throw new Error(`unsupported Joda-Time pattern letters "${token}" in ${pattern}`);
    i += n;
  }
  return out;
}

/** The topic levels matched by the filter, or undefined when the topic does not match it. */
export function matchTopic(filter: string, topic: string): string[] | undefined {
  const f = filter.split('/');
  const t = topic.split('/');
  if (f.length !== t.length || topic.startsWith('$')) return undefined;
  return f.every((level, i) => level === '+' || level === t[i]) ? t : undefined;
}

/** Evaluates a field source for one message (the local twin of the rendered expression). */
export function evaluateSource(
  source: FieldSource,
  topicLevels: readonly string[],
  receivedAtMs: number,
): string {
  switch (source.kind) {
    case 'topicLevel':
      return topicLevels[source.level - 1] ?? '';
    case 'receivedTime':
      return formatJodaUtc(source.pattern, receivedAtMs);
  }
}

/** A record on telemetry.raw: the payload's fields plus the bridge's. */
export type ProjectedRecord = Record<string, unknown> & {
  readonly deviceId: string;
  readonly receivedAt: string;
};

/** Why a message could not be projected (and goes to the error path). */
export type RejectReason = 'topic-mismatch' | 'not-json' | 'not-object';

export type ProjectionResult =
  | {
      readonly ok: true;
      /** The Kafka key. */
      readonly key: string;
      readonly value: ProjectedRecord;
      /** The Kafka value: `JSON.stringify(value)`. */
      readonly json: string;
      /** Contract violations of the payload; reported, not routed (see the module comment). */
      readonly contractIssues: readonly string[];
    }
  | { readonly ok: false; readonly reason: RejectReason; readonly message: string };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Applies the rule to one MQTT message exactly as the rules engine would: payload fields, then the
 * definition's fields (the topic level for `deviceId`, the receive time for `receivedAt`), later
 * items replacing payload keys of the same name. `receivedAtMs` stands for `timestamp()`.
 * A payload that is not a JSON object is rejected (the rules engine raises ParseError for it).
 * Note: numbers go through JavaScript doubles (the rules engine uses decimals); integers beyond 2^53
 * would lose precision here, which no telemetry metric comes near.
 */
export function project(
  mqttTopic: string,
  payloadBytes: Uint8Array,
  receivedAtMs: number,
  definition: TelemetryBridgeDefinition = TELEMETRY_BRIDGE,
): ProjectionResult {
  const levels = matchTopic(definition.topicFilter, mqttTopic);
  if (!levels) {
    return {
      ok: false,
      reason: 'topic-mismatch',
      message: `topic ${mqttTopic} does not match ${definition.topicFilter}`,
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictUtf8.decode(payloadBytes));
  } catch (err) {
    return { ok: false, reason: 'not-json', message: `payload is not JSON: ${(err as Error).message}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    const kind = Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : `a ${typeof parsed}`;
    return { ok: false, reason: 'not-object', message: `payload is JSON but ${kind}, not an object` };
  }
  const value: Record<string, unknown> = { ...(parsed as Record<string, unknown>) };
  for (const field of definition.fields) {
    value[field.name] = evaluateSource(field.source, levels, receivedAtMs);
  }
  const record = value as ProjectedRecord;
  return {
    ok: true,
    key: evaluateSource(definition.key, levels, receivedAtMs),
    value: record,
    json: JSON.stringify(record),
    contractIssues: checkTelemetryContract(parsed as Record<string, unknown>, levels, definition),
  };
}

/** The local path (relative to the error directory) of an error document: the rendered S3 key's twin. */
export function errorObjectKey(
  receivedAtMs: number,
  uuid: string,
  definition: TelemetryBridgeDefinition = TELEMETRY_BRIDGE,
): string {
  return definition.errorObjectKey
    .map((part) => {
      switch (part.kind) {
        case 'text':
          return part.text;
        case 'receivedTime':
          return formatJodaUtc(part.pattern, receivedAtMs);
        case 'epochMillis':
          return String(receivedAtMs);
        case 'uuid':
          return uuid;
      }
    })
    .join('');
}

// ---------------------------------------------------------------------------------------------
// The data contract (reported, not enforced, on the bridge path)
// ---------------------------------------------------------------------------------------------

/** The device payload of the data contract; extra numeric metrics are allowed. */
export interface TelemetryPayload {
  /** ISO-8601 UTC with milliseconds, e.g. 2026-11-25T06:33:57.123Z. */
  readonly ts: string;
  /** °C. */
  readonly temperature: number;
  /** 0-100. */
  readonly humidity: number;
  /** 0-100. */
  readonly battery: number;
  readonly status: 'ok' | 'error';
  readonly [metric: string]: number | string;
}

/** A telemetry.raw record that satisfies the contract. */
export type TelemetryRecord = TelemetryPayload & { readonly deviceId: string; readonly receivedAt: string };

export const ISO_UTC_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Contract violations of a payload (empty when it satisfies the contract). */
export function checkTelemetryContract(
  payload: Record<string, unknown>,
  topicLevels?: readonly string[],
  definition: TelemetryBridgeDefinition = TELEMETRY_BRIDGE,
): string[] {
  const issues: string[] = [];
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const ts = payload.ts;
  if (typeof ts !== 'string' || !ISO_UTC_MILLIS.test(ts) || Number.isNaN(Date.parse(ts))) {
    issues.push('ts: expected ISO-8601 UTC with milliseconds');
  }
  if (!isNumber(payload.temperature)) issues.push('temperature: expected a number');
  for (const name of ['humidity', 'battery'] as const) {
    const v = payload[name];
    if (!isNumber(v) || v < 0 || v > 100) issues.push(`${name}: expected a number 0-100`);
  }
  if (payload.status !== 'ok' && payload.status !== 'error') issues.push('status: expected "ok" or "error"');
  const bridgeFields = new Set(definition.fields.map((f) => f.name));
  for (const [name, v] of Object.entries(payload)) {
    if (bridgeFields.has(name)) issues.push(`${name}: set by the bridge; the payload's value is replaced`);
    else if (!['ts', 'temperature', 'humidity', 'battery', 'status'].includes(name) && !isNumber(v)) {
      issues.push(`${name}: extra fields must be numeric metrics`);
    }
  }
  if (topicLevels) {
    const deviceId = evaluateSource(definition.key, topicLevels, 0);
    if (deviceId === '') issues.push('deviceId: empty topic level');
  }
  return issues;
}

// ---------------------------------------------------------------------------------------------
// The error document (the IoT Core error action message)
// ---------------------------------------------------------------------------------------------

export interface ErrorActionFailure {
  /** e.g. "KafkaAction"; locally also "RuleEvaluation" (no AWS counterpart: see the module comment). */
  readonly failedAction: string;
  /** e.g. the Kafka topic, or the topic filter for a rule-evaluation failure. */
  readonly failedResource: string;
  readonly errorMessage: string;
}

/** The IoT Core error action message (rule-error-handling.html), one per rule and message. */
export interface IotErrorActionDocument {
  readonly ruleName: string;
  /** The topic the original message was received on. */
  readonly topic: string;
  /** Locally a UUID: there is no CloudWatch log to refer to. */
  readonly cloudwatchTraceId: string;
  /** The publisher's MQTT client id; "n/a" where the broker does not tell subscribers. */
  readonly clientId: string;
  readonly base64OriginalPayload: string;
  readonly failures: readonly ErrorActionFailure[];
}

export const FAILED_ACTION = { kafka: 'KafkaAction', ruleEvaluation: 'RuleEvaluation' } as const;

export function errorDocument(input: {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly failures: readonly ErrorActionFailure[];
  readonly traceId: string;
  readonly clientId?: string;
  readonly definition?: TelemetryBridgeDefinition;
}): IotErrorActionDocument {
  return {
    ruleName: (input.definition ?? TELEMETRY_BRIDGE).ruleName,
    topic: input.topic,
    cloudwatchTraceId: input.traceId,
    clientId: input.clientId ?? 'n/a',
    base64OriginalPayload: Buffer.from(input.payload).toString('base64'),
    failures: input.failures,
  };
}
