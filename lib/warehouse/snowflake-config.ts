/**
 * The warehouse leg: the Snowflake Kafka connector (sink) that lands the catalog's events.aggregates
 * in a Snowflake table with Snowpipe Streaming, on MSK Connect. Pure TypeScript (no CDK import): the
 * MSK Connect construct (lib/warehouse/snowflake-sink.ts), the synth checks of the configuration
 * (lib/config/warehouse-config.ts) and the local engine test (test/engines/warehouse.test.ts) render
 * and check the very same connector configuration from here.
 *
 * The plugin is pinned in ONE place: SNOWFLAKE_CONNECTOR (Maven coordinates) below, which
 * connect/snowflake-sink/pom.xml must carry too (a unit test keeps them in step). An upgrade is a
 * change of that version there and here.
 */
import { resolve } from 'node:path';
import { TOPIC_SPECS } from '../topics/topic-specs';

/**
 * The Snowflake Kafka connector on Maven Central. Only the 2.5.0 release is served to this project's
 * build machines (upstream's 3.x and 4.x lines are not): 2.5.0 is pinned, built for Kafka Connect
 * 3.x and Java 8+, and runs on MSK Connect's 3.7.x (Java 17). The artifact is a ~160 MB uber JAR.
 */
export const SNOWFLAKE_CONNECTOR = {
  groupId: 'com.snowflake',
  artifactId: 'snowflake-kafka-connector',
  version: '2.5.0',
} as const;

/** `group:artifact:version`, the string the plugin's asset hash and names are derived from. */
export const SNOWFLAKE_CONNECTOR_COORDINATES = `${SNOWFLAKE_CONNECTOR.groupId}:${SNOWFLAKE_CONNECTOR.artifactId}:${SNOWFLAKE_CONNECTOR.version}`;

/** The connector class of the 2.x line (4.x renames it SnowflakeStreamingSinkConnector). */
export const SNOWFLAKE_SINK_CONNECTOR_CLASS = 'com.snowflake.kafka.connector.SnowflakeSinkConnector';

/** The Maven project that assembles the plugin ZIP (`mvn -B -q -f <dir>/pom.xml package`). */
export const SNOWFLAKE_PLUGIN_PROJECT_DIR = resolve(__dirname, '..', '..', 'connect', 'snowflake-sink');

/** The MSK Connect custom plugin ZIP and its `sha256sum` file (build outputs, not committed). */
export const SNOWFLAKE_PLUGIN_ZIP = resolve(
  SNOWFLAKE_PLUGIN_PROJECT_DIR,
  'target',
  `snowflake-kafka-connector-${SNOWFLAKE_CONNECTOR.version}-msk-plugin.zip`,
);
export const SNOWFLAKE_PLUGIN_ZIP_SHA256 = `${SNOWFLAKE_PLUGIN_ZIP}.sha256`;

/** The only ingestion method the platform runs: rows land within seconds, no stage, no pipe. */
export const SNOWFLAKE_INGESTION_METHOD = 'SNOWPIPE_STREAMING';

/**
 * The JSON keys of the Secrets Manager secret the connector's key pair lives in. The private key is
 * an ENCRYPTED PKCS#8 PEM (`openssl genrsa 2048 | openssl pkcs8 -topk8 -v2 aes256`), the passphrase
 * its password; the connector strips PEM headers and line breaks itself.
 */
export const SNOWFLAKE_SECRET_KEYS = { privateKey: 'privateKey', passphrase: 'passphrase' } as const;

/**
 * The table events.aggregates lands in: the catalog's topic name in upper case with `.` as `_`
 * (EVENTS_AGGREGATES). The Snowflake set-up script (snowflake/) creates it with the two VARIANT
 * columns the connector writes (RECORD_METADATA, RECORD_CONTENT).
 */
export const SNOWFLAKE_AGGREGATES_TABLE = TOPIC_SPECS.eventsAggregates.name
  .toUpperCase()
  .replace(/[^A-Z0-9_]/g, '_');

/**
 * The plugin's own limits for Snowpipe Streaming with the connector's buffer (2.5.0,
 * DefaultStreamingConfigValidator and BufferThreshold): at least 1 record, 1 byte and 1 second. The
 * upper limits are the platform's: beyond them a worker's memory (one buffer per partition and task)
 * or the warehouse's freshness suffers.
 */
export const SNOWFLAKE_BUFFER_LIMITS = {
  countRecords: { min: 1, max: 1_000_000 },
  sizeBytes: { min: 1, max: 100_000_000 },
  flushTimeSeconds: { min: 1, max: 3600 },
  maxClientLagSeconds: { min: 1, max: 600 },
} as const;

/**
 * An account URL the connector accepts and that names a Snowflake endpoint:
 * `<account identifier>.snowflakecomputing.com` (or `.cn`), optionally with `https://` and `:443`.
 * The identifier is `<org>-<account>` or a locator with its region (`xy12345.eu-west-1`, and
 * `.privatelink` for PrivateLink). The plugin itself parses the URL only when it connects.
 */
export const SNOWFLAKE_ACCOUNT_URL =
  /^(?:https:\/\/)?[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.snowflakecomputing\.(?:com|cn)(?::443)?\/?$/i;

/** An unquoted Snowflake identifier (names of the user, role, database and schema). */
export const SNOWFLAKE_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,254}$/;

/** The connector name's form in the plugin (Utils.isValidSnowflakeApplicationName). */
const SNOWFLAKE_APPLICATION_NAME = /^[-_a-zA-Z][-_$a-zA-Z0-9]+$/;

export interface SnowflakeBuffer {
  /** `buffer.count.records`: flush a partition's buffer at this many records. */
  readonly countRecords: number;
  /** `buffer.size.bytes`: ... or at this many bytes (before compression). */
  readonly sizeBytes: number;
  /** `buffer.flush.time`: ... or after this many seconds. */
  readonly flushTimeSeconds: number;
  /** `snowflake.streaming.max.client.lag`: how long the ingest SDK holds rows before committing them. */
  readonly maxClientLagSeconds: number;
}

export interface SnowflakeAccount {
  /** `snowflake.url.name`, e.g. `myorg-myaccount.snowflakecomputing.com:443`. */
  readonly accountUrl: string;
  /** `snowflake.user.name`: the key-pair user. */
  readonly user: string;
  /** `snowflake.role.name`: the connector's role (required by Snowpipe Streaming). */
  readonly role: string;
  readonly database: string;
  readonly schema: string;
}

export interface SnowflakeSinkOptions {
  /** Kafka Connect's `name`; on MSK Connect the connector name. Also names the Snowflake channels. */
  readonly connectorName: string;
  /** The topic it sinks: the catalog's events.aggregates. */
  readonly topic: string;
  /** The table it lands in. @default SNOWFLAKE_AGGREGATES_TABLE */
  readonly table?: string;
  readonly account: SnowflakeAccount;
  /**
   * Where the config provider finds the key pair: on MSK Connect the secret's NAME (never an ARN:
   * `${provider:path:key}` splits at the first `:`); locally whatever the local provider reads.
   */
  readonly secretReference: string;
  /** The config provider the placeholders name. @default 'secretsmanager' */
  readonly configProvider?: string;
  readonly buffer: SnowflakeBuffer;
  /** `tasks.max`. */
  readonly tasksMax: number;
  /** Kafka Connect's dead-letter topic: the catalog's dlq.snowflake-sink. */
  readonly deadLetterTopic: string;
  /** Its replication factor (Kafka Connect creates it if missing; the catalog creates it first). */
  readonly deadLetterReplicationFactor: number;
}

/**
 * A value as the checks see it: a CDK token (`${Token[…]}`, resolved only at deploy time) stands for
 * a valid name.
 */
function checkable(value: string): string {
  return value.replace(/\$\{Token\[[^\]]*\]\}/g, 'token');
}

function inRange(value: number, limits: { min: number; max: number }): boolean {
  return Number.isInteger(value) && value >= limits.min && value <= limits.max;
}

/**
 * The problems of a Snowflake account block, each as `[field, message]` with the allowed form or
 * range: the synth checks for what the plugin can only check when it connects or starts.
 */
export function snowflakeAccountProblems(account: SnowflakeAccount): [keyof SnowflakeAccount, string][] {
  const problems: [keyof SnowflakeAccount, string][] = [];
  if (!SNOWFLAKE_ACCOUNT_URL.test(account.accountUrl))
    problems.push([
      'accountUrl',
      `must be <account identifier>.snowflakecomputing.com, optionally with https:// and :443, e.g. myorg-myaccount.snowflakecomputing.com (got ${JSON.stringify(account.accountUrl)})`,
    ]);
  for (const field of ['user', 'role', 'database', 'schema'] as const) {
    if (!SNOWFLAKE_IDENTIFIER.test(account[field]))
      problems.push([
        field,
        `must be an unquoted Snowflake identifier: a letter or _, then letters, digits, _ or $, at most 255 characters (got ${JSON.stringify(account[field])})`,
      ]);
  }
  return problems;
}

/** The problems of buffer settings, each as `[field, message]` naming the allowed range. */
export function snowflakeBufferProblems(buffer: SnowflakeBuffer): [keyof SnowflakeBuffer, string][] {
  const problems: [keyof SnowflakeBuffer, string][] = [];
  const units: Record<keyof SnowflakeBuffer, string> = {
    countRecords: 'records',
    sizeBytes: 'bytes',
    flushTimeSeconds: 'seconds',
    maxClientLagSeconds: 'seconds',
  };
  for (const field of Object.keys(units) as (keyof SnowflakeBuffer)[]) {
    const limits = SNOWFLAKE_BUFFER_LIMITS[field];
    if (!inRange(buffer[field], limits))
      problems.push([
        field,
        `must be an integer ${limits.min}..${limits.max} ${units[field]} (got ${JSON.stringify(buffer[field])})`,
      ]);
  }
  return problems;
}

/**
 * The flat connector configuration of the Snowflake sink for events.aggregates: what MSK Connect's
 * `connectorConfiguration` carries and what Kafka Connect's REST API takes. The key pair is never
 * in it: `snowflake.private.key` and its passphrase are config-provider placeholders that the worker
 * resolves from Secrets Manager when the task starts.
 */
export function renderSnowflakeSinkConfig(options: SnowflakeSinkOptions): Record<string, string> {
  const table = options.table ?? SNOWFLAKE_AGGREGATES_TABLE;
  const provider = options.configProvider ?? 'secretsmanager';
  const problems: string[] = [];
  if (!SNOWFLAKE_APPLICATION_NAME.test(options.connectorName) || options.connectorName.length > 128)
    problems.push(
      `connectorName: must be 2..128 of A-Z a-z 0-9 _ - $, not starting with a digit (got "${options.connectorName}")`,
    );
  for (const [field, message] of snowflakeAccountProblems(options.account))
    problems.push(`account.${field}: ${message}`);
  for (const [field, message] of snowflakeBufferProblems(options.buffer))
    problems.push(`buffer.${field}: ${message}`);
  if (!SNOWFLAKE_IDENTIFIER.test(table)) problems.push(`table: must be an unquoted Snowflake identifier`);
  for (const [field, topic] of [
    ['topic', options.topic],
    ['deadLetterTopic', options.deadLetterTopic],
  ] as const) {
    if (!/^[A-Za-z0-9._-]{1,249}$/.test(checkable(topic)))
      problems.push(`${field}: not a Kafka topic name ("${topic}")`);
  }
  if (options.topic === options.deadLetterTopic)
    problems.push('deadLetterTopic: must not be the source topic');
  if (options.secretReference.length === 0 || /[:{}$]/.test(checkable(options.secretReference)))
    problems.push(
      'secretReference: must be a non-empty secret name without ":", "{", "}" or "$" (not an ARN)',
    );
  if (!Number.isInteger(options.tasksMax) || options.tasksMax < 1 || options.tasksMax > 100)
    problems.push('tasksMax: must be an integer 1..100');
  if (!Number.isInteger(options.deadLetterReplicationFactor) || options.deadLetterReplicationFactor < 1)
    problems.push('deadLetterReplicationFactor: must be a positive integer');
  if (problems.length > 0) throw new Error(`Invalid Snowflake sink options:\n  - ${problems.join('\n  - ')}`);

  const secret = (key: string) => `\${${provider}:${options.secretReference}:${key}}`;
  const { account, buffer } = options;
  return {
    name: options.connectorName,
    'connector.class': SNOWFLAKE_SINK_CONNECTOR_CLASS,
    'tasks.max': String(options.tasksMax),
    topics: options.topic,
    'snowflake.topic2table.map': `${options.topic}:${table}`,

    'snowflake.url.name': account.accountUrl,
    'snowflake.user.name': account.user,
    'snowflake.role.name': account.role,
    'snowflake.database.name': account.database,
    'snowflake.schema.name': account.schema,
    // Key-pair (JWT) authentication; the key and its passphrase come from Secrets Manager.
    'snowflake.authenticator': 'snowflake_jwt',
    'snowflake.private.key': secret(SNOWFLAKE_SECRET_KEYS.privateKey),
    'snowflake.private.key.passphrase': secret(SNOWFLAKE_SECRET_KEYS.passphrase),
    // MSK Connect restarts a connector that uses a config provider periodically unless told not
    // to; the key is read at each task start anyway (a rotation is a restart, docs/warehouse.md).
    'config.action.reload': 'none',

    'snowflake.ingestion.method': SNOWFLAKE_INGESTION_METHOD,
    // The record lands whole in RECORD_CONTENT (VARIANT) with RECORD_METADATA beside it; the views
    // of the set-up script give analysts typed columns (the table's shape never changes).
    'snowflake.enable.schematization': 'false',
    // The connector's own buffer, so that the three thresholds below are what decides a flush
    // (2.5.0's default, stated so that a plugin upgrade that flips it cannot change behaviour).
    'snowflake.streaming.enable.single.buffer': 'false',
    'buffer.count.records': String(buffer.countRecords),
    'buffer.size.bytes': String(buffer.sizeBytes),
    'buffer.flush.time': String(buffer.flushTimeSeconds),
    'snowflake.streaming.max.client.lag': String(buffer.maxClientLagSeconds),
    // A revoked grant or key fails the task (visible in the connector's state and alarms) instead
    // of retrying silently.
    'enable.task.fail.on.authorization.errors': 'true',

    // windowKey is a string key; the value is the contract's JSON object, without a Connect schema.
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'value.converter.schemas.enable': 'false',
    // A tombstone (null value) of the compacted topic carries no aggregate: nothing to land.
    'behavior.on.null.values': 'IGNORE',

    // Kafka Connect's dead-letter queue: a record that fails conversion or that the connector
    // refuses goes to the catalog's dead-letter topic with the __connect.errors.* context headers
    // (the contract's third shape); the task goes on. Failures are logged without the record.
    'errors.tolerance': 'all',
    'errors.log.enable': 'true',
    'errors.log.include.messages': 'false',
    'errors.deadletterqueue.topic.name': options.deadLetterTopic,
    'errors.deadletterqueue.topic.replication.factor': String(options.deadLetterReplicationFactor),
    'errors.deadletterqueue.context.headers.enable': 'true',
  };
}

/** The parts of an environment's configuration the connector is rendered from. */
export interface WarehouseEnvironment {
  readonly platformName: string;
  readonly envName: string;
  readonly warehouse: {
    readonly connector: { readonly tasksMax: number };
    readonly buffer: SnowflakeBuffer;
    readonly snowflake?: SnowflakeAccount;
  };
  readonly topics: {
    readonly eventsAggregates: { readonly name: string };
    readonly dlqSnowflakeSink: {
      readonly name: string;
      readonly settings: { readonly replicationFactor: number };
    };
  };
}

/** The connector's name: fixed per environment, since it also names the Snowflake channels. */
export function snowflakeConnectorName(
  config: Pick<WarehouseEnvironment, 'platformName' | 'envName'>,
): string {
  return `${config.platformName}-${config.envName}-warehouse-sink`;
}

/**
 * The sink options of an environment whose configuration names a Snowflake account: what the
 * MSK Connect construct deploys and the local engine test validates.
 */
export function snowflakeSinkOptions(
  config: WarehouseEnvironment,
  secretReference: string,
  configProvider?: string,
): SnowflakeSinkOptions {
  const account = config.warehouse.snowflake;
  if (!account) throw new Error(`environments.${config.envName}.warehouse.snowflake is not configured`);
  return {
    connectorName: snowflakeConnectorName(config),
    topic: config.topics.eventsAggregates.name,
    account: {
      accountUrl: account.accountUrl,
      user: account.user,
      role: account.role,
      database: account.database,
      schema: account.schema,
    },
    secretReference,
    configProvider,
    buffer: config.warehouse.buffer,
    tasksMax: config.warehouse.connector.tasksMax,
    deadLetterTopic: config.topics.dlqSnowflakeSink.name,
    deadLetterReplicationFactor: config.topics.dlqSnowflakeSink.settings.replicationFactor,
  };
}
