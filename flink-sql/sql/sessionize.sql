-- The sessionize job of the telemetry path: docs/telemetry-path.md, steps 1-9.
-- Every ${name} is a runtime property of group `sessionize` (lib/telemetry/sessionize-properties.ts);
-- the runner refuses to start when one is not set. The runner sets table.local-time-zone = UTC.

-- Step 5: the dedupe state is bounded by a TTL.
SET 'table.exec.state.ttl' = '${dedupe.state.minutes} min';
-- The INSERTs below share the parse, the dedupe and the late split: the planner finds the common
-- sub-plans of the statement set by their digest and plans each ONCE (without this, each output's
-- query got its own parse Calc and Deduplicate, as its columns differ after projection push-down).
SET 'table.optimizer.reuse-optimize-block-with-digest-enabled' = 'true';

-- Steps 2 and 4 (parse and check) in one pass over the bytes: platform.telemetry.ParseReading
-- returns the reading's fields, or the dead-letter reason and detail (docs/telemetry-path.md).
CREATE TEMPORARY SYSTEM FUNCTION PARSE_READING AS 'platform.telemetry.ParseReading';

-- Step 1 and 3: telemetry.raw, value and key as bytes, the Kafka metadata for the dead letters and
-- the future-ts guard; the event time is the ts of a VALID reading (NULL for any other record, so
-- that neither a malformed record nor a ts too far ahead of its record's timestamp moves the
-- watermark), the watermark per partition on every record, idle partitions left out after the idle
-- timeout. The same PARSE_READING call as the view `checked` (one parse per record, see its class).
CREATE TABLE telemetry_raw (
  record_key BYTES,
  record_value BYTES,
  source_topic STRING METADATA FROM 'topic' VIRTUAL,
  source_partition INT METADATA FROM 'partition' VIRTUAL,
  source_offset BIGINT METADATA FROM 'offset' VIRTUAL,
  record_timestamp TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  event_time AS PARSE_READING(record_value, record_timestamp, ${reading.max-future-skew.seconds}).event_time,
  proc_time AS PROCTIME(),
  WATERMARK FOR event_time AS event_time - INTERVAL '${watermark.out-of-orderness.interval}' DAY TO SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = '${source.topic}',
  'properties.bootstrap.servers' = '${kafka.bootstrap-servers}',
  'properties.group.id' = '${source.group-id}',
  'properties.security.protocol' = '${kafka.security-protocol}',
  'properties.sasl.mechanism' = '${kafka.sasl-mechanism}',
  'properties.sasl.jaas.config' = '${kafka.sasl-jaas-config}',
  'properties.sasl.client.callback.handler.class' = '${kafka.sasl-callback-handler}',
  'scan.startup.mode' = 'group-offsets',
  'properties.auto.offset.reset' = 'earliest',
  'key.format' = 'raw',
  'key.fields' = 'record_key',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY',
  'scan.watermark.emit.strategy' = 'on-event',
  'scan.watermark.idle-timeout' = '${source.idle-timeout.seconds} s'
);

-- Step 4: dead letters, key and value untouched, the contract's headers.
CREATE TABLE dlq_sessionize (
  record_key BYTES,
  record_value BYTES,
  headers MAP<STRING, BYTES> METADATA
) WITH (
  'connector' = 'kafka',
  'topic' = '${dlq.topic}',
  'properties.bootstrap.servers' = '${kafka.bootstrap-servers}',
  'properties.security.protocol' = '${kafka.security-protocol}',
  'properties.sasl.mechanism' = '${kafka.sasl-mechanism}',
  'properties.sasl.jaas.config' = '${kafka.sasl-jaas-config}',
  'properties.sasl.client.callback.handler.class' = '${kafka.sasl-callback-handler}',
  'key.format' = 'raw',
  'key.fields' = 'record_key',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY',
  'properties.max.request.size' = '${dlq.max-request-bytes}',
  'sink.delivery-guarantee' = 'at-least-once'
);

-- Step 8: alerts, key deviceId, value the contract's JSON.
CREATE TABLE telemetry_alerts (
  device_id STRING,
  alert STRING
) WITH (
  'connector' = 'kafka',
  'topic' = '${alerts.topic}',
  'properties.bootstrap.servers' = '${kafka.bootstrap-servers}',
  'properties.security.protocol' = '${kafka.security-protocol}',
  'properties.sasl.mechanism' = '${kafka.sasl-mechanism}',
  'properties.sasl.jaas.config' = '${kafka.sasl-jaas-config}',
  'properties.sasl.client.callback.handler.class' = '${kafka.sasl-callback-handler}',
  'key.format' = 'raw',
  'key.fields' = 'device_id',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY',
  'sink.delivery-guarantee' = 'at-least-once'
);

-- Step 7: the lake. Its columns are lib/telemetry/session-columns.ts (a unit test compares them).
CREATE TABLE lake_sessions (
  deviceId STRING,
  sessionStart TIMESTAMP(3),
  sessionEnd TIMESTAMP(3),
  readings BIGINT,
  errorReadings BIGINT,
  temperatureMin DOUBLE,
  temperatureMax DOUBLE,
  temperatureAvg DOUBLE,
  humidityAvg DOUBLE,
  batteryMin DOUBLE,
  dt STRING,
  hr STRING
) PARTITIONED BY (dt, hr) WITH (
  'connector' = 'filesystem',
  'path' = '${lake.path}',
  'format' = 'parquet',
  'parquet.compression' = 'SNAPPY',
  'parquet.write.int64.timestamp' = 'true',
  'parquet.timestamp.time.unit' = 'millis'
);

-- Steps 2 and 4: the verdict on each record (reason NULL: a valid reading).
CREATE TEMPORARY VIEW checked AS
SELECT
  record_key, record_value, source_topic, source_partition, source_offset, event_time, proc_time,
  r.deviceId AS deviceId, r.temperature AS temperature, r.humidity AS humidity,
  r.battery AS battery, r.status AS status, r.reason AS reason, r.detail AS detail
FROM (
  SELECT *, PARSE_READING(record_value, record_timestamp, ${reading.max-future-skew.seconds}) AS r
  FROM telemetry_raw
);

CREATE TEMPORARY VIEW readings AS
SELECT
  record_key, record_value, source_topic, source_partition, source_offset, deviceId, event_time,
  temperature, humidity, battery, status, proc_time
FROM checked
WHERE reason IS NULL;

-- Step 5: the first copy of (deviceId, ts) read wins.
CREATE TEMPORARY VIEW first_seen AS
SELECT * FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY deviceId, event_time ORDER BY proc_time ASC) AS rn
  FROM readings
) WHERE rn = 1;

-- Step 4 (late) and 6: at or behind the watermark when read -> dead letter; the rest is on time.
CREATE TEMPORARY VIEW late_readings AS
SELECT * FROM first_seen
WHERE CURRENT_WATERMARK(event_time) IS NOT NULL AND event_time <= CURRENT_WATERMARK(event_time);

CREATE TEMPORARY VIEW on_time AS
SELECT deviceId, event_time, temperature, humidity, battery, status FROM first_seen
WHERE CURRENT_WATERMARK(event_time) IS NULL OR event_time > CURRENT_WATERMARK(event_time);

-- Step 6: sessions.
CREATE TEMPORARY VIEW sessions AS
SELECT
  deviceId,
  window_start AS sessionStart,
  window_end AS sessionEnd,
  COUNT(*) AS readings,
  SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS errorReadings,
  MIN(temperature) AS temperatureMin,
  MAX(temperature) AS temperatureMax,
  AVG(temperature) AS temperatureAvg,
  AVG(humidity) AS humidityAvg,
  MIN(battery) AS batteryMin
FROM TABLE(SESSION(TABLE on_time PARTITION BY deviceId, DESCRIPTOR(event_time), INTERVAL '${session.gap.interval}' DAY TO SECOND))
GROUP BY deviceId, window_start, window_end;

-- Step 8, device_silent: a SESSION window with the silence as gap closing.
CREATE TEMPORARY VIEW quiet_periods AS
SELECT deviceId, MAX(event_time) AS last_reading, window_end AS silent_at
FROM TABLE(SESSION(TABLE on_time PARTITION BY deviceId, DESCRIPTOR(event_time), INTERVAL '${alert.silence.interval}' DAY TO SECOND))
GROUP BY deviceId, window_start, window_end;

-- Step 4: dead letters.
INSERT INTO dlq_sessionize
SELECT
  record_key,
  record_value,
  MAP[
    'dlq.reason', CAST(reason AS BYTES),
    'dlq.detail', CAST(detail AS BYTES),
    'dlq.source.topic', CAST(source_topic AS BYTES),
    'dlq.source.partition', CAST(CAST(source_partition AS STRING) AS BYTES),
    'dlq.source.offset', CAST(CAST(source_offset AS STRING) AS BYTES),
    'dlq.consumer', CAST('${dlq.consumer}' AS BYTES),
    'dlq.at', CAST(DATE_FORMAT(CURRENT_TIMESTAMP, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS BYTES)
  ]
FROM checked
WHERE reason IS NOT NULL
UNION ALL
SELECT
  record_key,
  record_value,
  MAP[
    'dlq.reason', CAST('late' AS BYTES),
    'dlq.detail', CAST(CONCAT('ts ', DATE_FORMAT(event_time, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''), ' is at or behind the watermark ', DATE_FORMAT(CURRENT_WATERMARK(event_time), 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')) AS BYTES),
    'dlq.source.topic', CAST(source_topic AS BYTES),
    'dlq.source.partition', CAST(CAST(source_partition AS STRING) AS BYTES),
    'dlq.source.offset', CAST(CAST(source_offset AS STRING) AS BYTES),
    'dlq.consumer', CAST('${dlq.consumer}' AS BYTES),
    'dlq.at', CAST(DATE_FORMAT(CURRENT_TIMESTAMP, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS BYTES)
  ]
FROM late_readings;

-- Step 7: the lake, partitioned by the session start's date and hour (UTC).
INSERT INTO lake_sessions
SELECT
  deviceId, sessionStart, sessionEnd, readings, CAST(errorReadings AS BIGINT), temperatureMin,
  temperatureMax, temperatureAvg, humidityAvg, batteryMin,
  DATE_FORMAT(sessionStart, 'yyyy-MM-dd') AS dt,
  DATE_FORMAT(sessionStart, 'HH') AS hr
FROM sessions;

-- Step 8: alerts. alertId = lowercase hex SHA-256 of <rule>|<deviceId>|<anchor>.
INSERT INTO telemetry_alerts
SELECT deviceId, JSON_OBJECT(
  'alertId' VALUE LOWER(SHA2(CONCAT('temperature_high|', deviceId, '|', DATE_FORMAT(event_time, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')), 256)),
  'deviceId' VALUE deviceId,
  'rule' VALUE 'temperature_high',
  'severity' VALUE 'critical',
  'at' VALUE DATE_FORMAT(event_time, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  'details' VALUE JSON_OBJECT(
    'ts' VALUE DATE_FORMAT(event_time, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
    'temperature' VALUE temperature,
    'limit' VALUE CAST('${alert.temperature-high.celsius}' AS DOUBLE)))
FROM on_time
WHERE temperature > CAST('${alert.temperature-high.celsius}' AS DOUBLE)
UNION ALL
SELECT deviceId, JSON_OBJECT(
  'alertId' VALUE LOWER(SHA2(CONCAT('battery_low|', deviceId, '|', DATE_FORMAT(event_time, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')), 256)),
  'deviceId' VALUE deviceId,
  'rule' VALUE 'battery_low',
  'severity' VALUE 'warning',
  'at' VALUE DATE_FORMAT(event_time, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  'details' VALUE JSON_OBJECT(
    'ts' VALUE DATE_FORMAT(event_time, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
    'battery' VALUE battery,
    'limit' VALUE CAST('${alert.battery-low.percent}' AS DOUBLE)))
FROM on_time
WHERE battery < CAST('${alert.battery-low.percent}' AS DOUBLE)
UNION ALL
SELECT deviceId, JSON_OBJECT(
  'alertId' VALUE LOWER(SHA2(CONCAT('session_errors|', deviceId, '|', DATE_FORMAT(sessionStart, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')), 256)),
  'deviceId' VALUE deviceId,
  'rule' VALUE 'session_errors',
  'severity' VALUE 'warning',
  'at' VALUE DATE_FORMAT(sessionEnd, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  'details' VALUE JSON_OBJECT(
    'sessionStart' VALUE DATE_FORMAT(sessionStart, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
    'sessionEnd' VALUE DATE_FORMAT(sessionEnd, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
    'readings' VALUE readings,
    'errorReadings' VALUE CAST(errorReadings AS BIGINT),
    'limit' VALUE CAST('${alert.session-errors.readings}' AS BIGINT)))
FROM sessions
WHERE errorReadings >= CAST('${alert.session-errors.readings}' AS BIGINT)
UNION ALL
SELECT deviceId, JSON_OBJECT(
  'alertId' VALUE LOWER(SHA2(CONCAT('device_silent|', deviceId, '|', DATE_FORMAT(last_reading, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')), 256)),
  'deviceId' VALUE deviceId,
  'rule' VALUE 'device_silent',
  'severity' VALUE 'warning',
  'at' VALUE DATE_FORMAT(silent_at, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  'details' VALUE JSON_OBJECT(
    'lastReadingAt' VALUE DATE_FORMAT(last_reading, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
    'silenceSeconds' VALUE CAST('${alert.silence.seconds}' AS BIGINT)))
FROM quiet_periods;
