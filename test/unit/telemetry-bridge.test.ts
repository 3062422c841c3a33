/**
 * The one definition of the MQTT bridge (lib/iot/telemetry-bridge.ts), without engines: what it
 * renders for the IoT Core rule (SQL, Kafka key, error-object key, capture SQL, metric) and what the
 * local bridge computes from it (projection, contract checks, Joda-Time formatting), against
 * hand-written literals. The engine test (test/engines/iot-bridge.test.ts) runs the bridge itself.
 */
import {
  RECEIVED_AT_PATTERN,
  checkTelemetryContract,
  errorObjectKey,
  formatJodaUtc,
  parseErrorMetric,
  project,
  renderErrorObjectKey,
  renderKafkaKey,
  renderRawCaptureRuleSql,
  renderRuleSql,
  renderTopicRule,
  telemetryBridge,
} from '../../lib/iot/telemetry-bridge';

const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('one definition: the IoT rule and the local projection', () => {
  test('the rule SQL, SQL version, Kafka topic, key, error-object key and capture SQL it renders', () => {
    expect(renderRuleSql()).toBe(
      "SELECT *, topic(2) AS deviceId, parse_time(\"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'\", timestamp(), \"UTC\") AS receivedAt FROM 'devices/+/telemetry'",
    );
    expect(renderKafkaKey()).toBe('${topic(2)}');
    expect(renderTopicRule()).toEqual({
      ruleName: 'telemetry_raw_bridge',
      sql: "SELECT *, topic(2) AS deviceId, parse_time(\"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'\", timestamp(), \"UTC\") AS receivedAt FROM 'devices/+/telemetry'",
      awsIotSqlVersion: '2016-03-23',
      kafka: { topic: 'telemetry.raw', key: '${topic(2)}' },
      errorObjectKey:
        'telemetry_raw_bridge/${parse_time("yyyy/MM/dd/HH", timestamp(), "UTC")}/${timestamp()}-${newuuid()}.json',
      rawCaptureSql:
        "SELECT encode(*, 'base64') AS base64OriginalPayload, topic() AS topic, clientid() AS clientId, " +
        "traceid() AS cloudwatchTraceId, timestamp() AS receivedAtMillis FROM 'devices/+/telemetry'",
    });
    expect(parseErrorMetric()).toEqual({
      namespace: 'AWS/IoT',
      metricName: 'ParseError',
      dimensions: { RuleName: 'telemetry_raw_bridge' },
    });
    // The device-id level follows the filter's "+".
    const other = telemetryBridge({ topicFilter: 'site/a/+/telemetry', ruleName: 'other' });
    expect(renderRuleSql(other)).toContain('topic(3) AS deviceId, parse_time(');
    expect(renderKafkaKey(other)).toBe('${topic(3)}');
    expect(renderRawCaptureRuleSql(other)).toMatch(/FROM 'site\/a\/\+\/telemetry'$/);
    expect(() => telemetryBridge({ topicFilter: 'devices/#' })).toThrow(/exactly one "\+"/);
    expect(() => telemetryBridge({ topicFilter: 'devices/+/+/telemetry' })).toThrow(/exactly one "\+"/);
  });

  test("the Joda-Time pattern parse_time gets prints the contract's ISO-8601 UTC milliseconds locally", () => {
    for (const ms of [0, 1_795_674_837_123, Date.UTC(2026, 10, 25, 6, 33, 57, 5), Date.now()]) {
      expect(formatJodaUtc(RECEIVED_AT_PATTERN, ms)).toBe(new Date(ms).toISOString());
    }
    expect(formatJodaUtc("yyyy/MM/dd/HH 'o''clock'", Date.UTC(2026, 0, 2, 3))).toBe("2026/01/02/03 o'clock");
    expect(() => formatJodaUtc('yyyy-MM-dd z', 0)).toThrow(/unsupported/);
    expect(errorObjectKey(Date.UTC(2026, 10, 25, 6, 33, 57, 123), 'u-1')).toBe(
      `telemetry_raw_bridge/2026/11/25/06/${Date.UTC(2026, 10, 25, 6, 33, 57, 123)}-u-1.json`,
    );
    expect(renderErrorObjectKey()).toContain('${newuuid()}');
  });

  test('project(): payload plus deviceId from the topic and receivedAt; topic fields win over payload fields', () => {
    const at = Date.UTC(2026, 10, 25, 6, 33, 57, 123);
    const payload = {
      ts: '2026-11-25T06:33:56.900Z',
      temperature: 21.5,
      humidity: 40,
      battery: 90,
      status: 'ok',
    };
    const ok = project('devices/dev-1/telemetry', bytes(JSON.stringify(payload)), at);
    expect(ok).toEqual({
      ok: true,
      key: 'dev-1',
      value: { ...payload, deviceId: 'dev-1', receivedAt: '2026-11-25T06:33:57.123Z' },
      json: JSON.stringify({ ...payload, deviceId: 'dev-1', receivedAt: '2026-11-25T06:33:57.123Z' }),
      contractIssues: [],
    });
    const spoofed = project(
      'devices/dev-1/telemetry',
      bytes(JSON.stringify({ ...payload, deviceId: 'x' })),
      at,
    );
    expect(spoofed.ok && spoofed.value.deviceId).toBe('dev-1');
    expect(spoofed.ok && spoofed.contractIssues).toEqual([
      "deviceId: set by the bridge; the payload's value is replaced",
    ]);
  });

  test('project(): contract violations pass through (reported), what is not a JSON object is rejected', () => {
    const noTemperature = project(
      'devices/d/telemetry',
      bytes('{"ts":"2026-11-25T06:33:57.123Z","humidity":40,"battery":90,"status":"ok"}'),
      0,
    );
    expect(noTemperature.ok).toBe(true);
    expect(noTemperature.ok && noTemperature.contractIssues).toEqual(['temperature: expected a number']);
    expect(
      checkTelemetryContract({
        ts: 'yesterday',
        temperature: '21',
        humidity: 140,
        battery: -1,
        status: 'fine',
        note: 'x',
      }),
    ).toEqual([
      'ts: expected ISO-8601 UTC with milliseconds',
      'temperature: expected a number',
      'humidity: expected a number 0-100',
      'battery: expected a number 0-100',
      'status: expected "ok" or "error"',
      'note: extra fields must be numeric metrics',
    ]);
    const rejected: [Uint8Array, string][] = [
      [Buffer.from([0xff, 0xfe, 0x00, 0x41]), 'not-json'],
      [bytes('{"ts":"2026-11-25T06:3'), 'not-json'],
      [bytes(''), 'not-json'],
      [bytes('temperature=21.5'), 'not-json'],
      [bytes('[21.5,40]'), 'not-object'],
      [bytes('80'), 'not-object'],
      [bytes('"ok"'), 'not-object'],
      [bytes('null'), 'not-object'],
    ];
    for (const [payload, reason] of rejected) {
      expect(project('devices/d/telemetry', payload, 0)).toMatchObject({ ok: false, reason });
    }
    expect(project('devices/d/other', bytes('{}'), 0)).toMatchObject({ ok: false, reason: 'topic-mismatch' });
    expect(project('devices/d/e/telemetry', bytes('{}'), 0)).toMatchObject({
      ok: false,
      reason: 'topic-mismatch',
    });
  });
});
