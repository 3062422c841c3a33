/**
 * The ONE definition of the lake's session columns ("Sessions in the lake" in the contract): the
 * sessionize SQL's lake sink (flink-sql/sql/sessionize.sql, compared by a unit test) and the Glue
 * table both follow it. No CDK imports.
 */

export interface SessionColumn {
  /** Column name (as in the contract). */
  readonly name: string;
  /** Its type in the Flink SQL sink table. */
  readonly flinkType: string;
  /** Its type in the Glue (Hive) table. */
  readonly glueType: string;
  readonly comment: string;
}

/** The data columns, in the order of the Parquet files. */
export const SESSION_COLUMNS: readonly SessionColumn[] = [
  { name: 'deviceId', flinkType: 'STRING', glueType: 'string', comment: 'the device' },
  {
    name: 'sessionStart',
    flinkType: 'TIMESTAMP(3)',
    glueType: 'timestamp',
    comment: "the session's first reading's ts (UTC)",
  },
  {
    name: 'sessionEnd',
    flinkType: 'TIMESTAMP(3)',
    glueType: 'timestamp',
    comment: "the session's last reading's ts + the session gap (UTC)",
  },
  { name: 'readings', flinkType: 'BIGINT', glueType: 'bigint', comment: 'readings in the session' },
  {
    name: 'errorReadings',
    flinkType: 'BIGINT',
    glueType: 'bigint',
    comment: 'readings with status error',
  },
  { name: 'temperatureMin', flinkType: 'DOUBLE', glueType: 'double', comment: 'lowest temperature, °C' },
  { name: 'temperatureMax', flinkType: 'DOUBLE', glueType: 'double', comment: 'highest temperature, °C' },
  { name: 'temperatureAvg', flinkType: 'DOUBLE', glueType: 'double', comment: 'mean temperature, °C' },
  { name: 'humidityAvg', flinkType: 'DOUBLE', glueType: 'double', comment: 'mean humidity, %' },
  { name: 'batteryMin', flinkType: 'DOUBLE', glueType: 'double', comment: 'lowest battery level, %' },
];

/** The Hive partition keys (`dt=YYYY-MM-DD/hr=HH` of sessionStart, UTC), in path order. */
export const SESSION_PARTITION_KEYS: readonly SessionColumn[] = [
  { name: 'dt', flinkType: 'STRING', glueType: 'string', comment: "sessionStart's date, YYYY-MM-DD (UTC)" },
  { name: 'hr', flinkType: 'STRING', glueType: 'string', comment: "sessionStart's hour, HH (UTC)" },
];
