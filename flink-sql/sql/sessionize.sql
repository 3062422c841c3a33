-- The sessionize job of the telemetry path: docs/telemetry-path.md, steps 1-9.
-- Every ${name} is a runtime property of group `sessionize` (lib/telemetry/sessionize-properties.ts);
-- the runner refuses to start when one is not set. The runner sets table.local-time-zone = UTC.

-- Step 5: the dedupe state is bounded by a TTL.
SET 'table.exec.state.ttl' = '${dedupe.state.minutes} min';

-- Step 1 and 3: telemetry.raw, value and key as bytes, the Kafka metadata for the dead letters; the
-- event time parsed from the JSON (NULL when the value is not a valid reading's time), the watermark
-- per partition on every record, idle partitions left out after the idle timeout.
CREATE TABLE telemetry_raw (
  record_key BYTES,
  record_value BYTES,
  source_topic STRING METADATA FROM 'topic' VIRTUAL,
  source_partition INT METADATA FROM 'partition' VIRTUAL,
  source_offset BIGINT METADATA FROM 'offset' VIRTUAL,
  event_time AS CASE
    WHEN REGEXP(JSON_VALUE(CAST(record_value AS STRING), '$.ts'), '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z$')
    THEN TO_TIMESTAMP(JSON_VALUE(CAST(record_value AS STRING), '$.ts'), 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')
  END,
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

-- Step 2: the checks, each field's JSON value wrapped in an array so that its JSON type shows
-- (a string starts with [" , a number with [- or [digit).
CREATE TEMPORARY VIEW parsed AS
SELECT
  record_key, record_value, source_topic, source_partition, source_offset, event_time, proc_time,
  doc,
  JSON_VALUE(doc, '$.deviceId') AS device_id,
  JSON_QUERY(doc, '$.deviceId' WITH ARRAY WRAPPER) AS device_id_json,
  JSON_QUERY(doc, '$.temperature' WITH ARRAY WRAPPER) AS temperature_json,
  JSON_QUERY(doc, '$.humidity' WITH ARRAY WRAPPER) AS humidity_json,
  JSON_QUERY(doc, '$.battery' WITH ARRAY WRAPPER) AS battery_json,
  JSON_VALUE(doc, '$.status') AS status
FROM (
  SELECT *, CAST(record_value AS STRING) AS doc FROM telemetry_raw
);

CREATE TEMPORARY VIEW checked AS
SELECT
  *,
  CASE
    WHEN record_value IS NULL
      OR CAST(doc AS BYTES) <> record_value
      OR NOT (doc IS JSON OBJECT) THEN 'invalid_json'
    WHEN device_id_json IS NULL OR device_id_json NOT LIKE '["%' OR CHAR_LENGTH(device_id) = 0
      OR event_time IS NULL
      OR temperature_json IS NULL OR NOT REGEXP(temperature_json, '^\[-?[0-9]')
      OR humidity_json IS NULL OR NOT REGEXP(humidity_json, '^\[-?[0-9]')
      OR battery_json IS NULL OR NOT REGEXP(battery_json, '^\[-?[0-9]')
      OR status IS NULL OR status NOT IN ('ok', 'error') THEN 'schema_violation'
  END AS reason,
  CASE
    WHEN device_id_json IS NULL OR device_id_json NOT LIKE '["%' OR CHAR_LENGTH(device_id) = 0
      THEN 'deviceId must be a non-empty string'
    WHEN event_time IS NULL THEN 'ts must be an ISO-8601 UTC time with milliseconds'
    WHEN temperature_json IS NULL OR NOT REGEXP(temperature_json, '^\[-?[0-9]') THEN 'temperature must be a number'
    WHEN humidity_json IS NULL OR NOT REGEXP(humidity_json, '^\[-?[0-9]') THEN 'humidity must be a number'
    WHEN battery_json IS NULL OR NOT REGEXP(battery_json, '^\[-?[0-9]') THEN 'battery must be a number'
    ELSE 'status must be ok or error'
  END AS schema_detail
FROM parsed;

CREATE TEMPORARY VIEW readings AS
SELECT
  record_key, record_value, source_topic, source_partition, source_offset,
  device_id AS deviceId,
  event_time,
  CAST(JSON_VALUE(temperature_json, '$[0]') AS DOUBLE) AS temperature,
  CAST(JSON_VALUE(humidity_json, '$[0]') AS DOUBLE) AS humidity,
  CAST(JSON_VALUE(battery_json, '$[0]') AS DOUBLE) AS battery,
  status,
  proc_time
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
    'dlq.detail', CAST(CASE WHEN reason = 'invalid_json' THEN 'the value is not a JSON object in UTF-8' ELSE schema_detail END AS BYTES),
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
