-- The bench's floor (bench/flink.ts): bench/flink.ts puts the sessionize job's own Kafka source
-- table and lake sink (the CREATE TABLE telemetry_raw and lake_sessions statements of
-- flink-sql/sql/sessionize.sql: same connector, options, format, watermark) before this INSERT, which
-- passes every record straight through: one lake row per record, no checks, dedupe, windows or alerts.
INSERT INTO lake_sessions
SELECT
  JSON_VALUE(CAST(record_value AS STRING), '$.deviceId'),
  event_time,
  event_time,
  1,
  0,
  CAST(NULL AS DOUBLE),
  CAST(NULL AS DOUBLE),
  CAST(NULL AS DOUBLE),
  CAST(NULL AS DOUBLE),
  CAST(NULL AS DOUBLE),
  DATE_FORMAT(event_time, 'yyyy-MM-dd'),
  DATE_FORMAT(event_time, 'HH')
FROM telemetry_raw;
