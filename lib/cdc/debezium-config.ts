/**
 * Change data capture of PostgreSQL `public.orders` into the catalog topic cdc.orders with the
 * Debezium PostgreSQL connector on MSK Connect. Pure TypeScript (no CDK import): the MSK Connect
 * construct and the local engine test (test/engines/cdc.test.ts) render the very same connector
 * and worker configuration from here.
 *
 * Record contract of cdc.orders (see README, "Topics"):
 *   key    {"id": <order id>}
 *   value  the row after the change (id, user_id, status, amount_cents, currency, created_at,
 *          updated_at; timestamps as ISO-8601 strings) plus __op (c, u, d; r for snapshot reads),
 *          __lsn and __source_ts_ms. A delete is a record with __op "d" and __deleted "true"
 *          followed by a tombstone (null value) for the same key.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { TOPIC_SPECS } from '../topics/topic-specs';

/**
 * The Debezium release in the plugin ZIP (connect/debezium-postgres/pom.xml pins the same one).
 * 3.2.x is the last line built on Kafka 3.9; 3.3 and later are built on Kafka 4.x but still
 * compiled for Java 17. 3.7.0.Final is the newest release whose POM chain resolves from Maven
 * Central (3.7.1.Final and 3.5.2.Final lack their debezium-build-parent POM there). It passes
 * test/engines/cdc.test.ts on Kafka Connect 3.7.2 (MSK Connect's "3.7.x"), and every Kafka class,
 * method and field its JARs reference exists in Connect 3.7.2. 3.2.3.Final passes the same test
 * if a Kafka 3.x-built release is ever needed.
 */
export const DEBEZIUM_VERSION = '3.7.0.Final';

/** MSK Connect's `kafkaConnectVersion` this plugin is built and tested for (Java 17 runtime). */
export const KAFKA_CONNECT_VERSION = '3.7.x';

/** The connector class of the plugin. */
export const DEBEZIUM_POSTGRES_CONNECTOR_CLASS = 'io.debezium.connector.postgresql.PostgresConnector';

/** The Maven project that assembles the plugin ZIP (`mvn -B -q -f <dir>/pom.xml package`). */
export const DEBEZIUM_PLUGIN_PROJECT_DIR = resolve(__dirname, '..', '..', 'connect', 'debezium-postgres');

/**
 * The MSK Connect custom plugin: a ZIP with the connector and its runtime dependencies (no Kafka,
 * no slf4j JARs), and its `sha256sum` checksum file next to it. Both are build outputs (not
 * committed); the version in the file name gives every release its own S3 object, since MSK Connect
 * custom plugins cannot be updated in place.
 */
export const DEBEZIUM_PLUGIN_ZIP = resolve(
  DEBEZIUM_PLUGIN_PROJECT_DIR,
  'target',
  `debezium-connector-postgres-${DEBEZIUM_VERSION}-msk-plugin.zip`,
);
export const DEBEZIUM_PLUGIN_ZIP_SHA256 = `${DEBEZIUM_PLUGIN_ZIP}.sha256`;

/**
 * The name the worker registers its secrets config provider under; connector configurations refer
 * to secrets as `${secretsmanager:<secret name>:<key>}`. Both on MSK Connect and locally the
 * provider is SECRETS_MANAGER_CONFIG_PROVIDER_CLASS from the plugin ZIP (locally it talks to a stub
 * of the Secrets Manager API).
 */
export const SECRETS_CONFIG_PROVIDER = 'secretsmanager';

/**
 * The platform's Secrets Manager config provider (connect/secrets-manager-config-provider, built into
 * the plugin ZIP): resolves `${secretsmanager:<secret name>:<key>}` from the JSON SecretString with
 * the connector's service execution role. Parameters: `region`, optional `endpoint` (URL override;
 * without `region` the region then comes from AWS_REGION) and `ttl.ms` (reuse a read secret that
 * long; default 0: read at every resolution).
 */
export const SECRETS_MANAGER_CONFIG_PROVIDER_CLASS = 'platform.connect.config.SecretsManagerConfigProvider';

/** The tables captured by default. */
export const DEFAULT_CDC_TABLES: readonly string[] = ['public.orders'];

/**
 * Debezium's logical server name (`topic.prefix`). It names the source partition of the stored
 * offsets, so it must never change for a running pipeline; change records never reach a topic of
 * this name (they are routed to the target topic).
 */
export const CDC_TOPIC_PREFIX = 'orders';

/**
 * The topic Debezium writes heartbeat records to (`{"serverName":"orders"}` → `{"ts_ms":…}`), one per
 * heartbeat interval: the catalog's cdc.heartbeat topic (the cluster does not auto-create topics).
 */
export const CDC_HEARTBEAT_TOPIC: string = TOPIC_SPECS.cdcHeartbeat.name;

/**
 * `topic.heartbeat.prefix`: Debezium names the heartbeat topic `<prefix>.<topic.prefix>`, so the
 * prefix is the catalog's name without `.<topic.prefix>`.
 */
export const CDC_HEARTBEAT_TOPIC_PREFIX = ((): string => {
  const suffix = `.${CDC_TOPIC_PREFIX}`;
  if (!CDC_HEARTBEAT_TOPIC.endsWith(suffix)) {
    throw new Error(`the catalog's heartbeat topic must end with "${suffix}" (got "${CDC_HEARTBEAT_TOPIC}")`);
  }
  return CDC_HEARTBEAT_TOPIC.slice(0, -suffix.length);
})();

/** Snapshot modes the platform allows (same list as the `cdc.snapshotMode` configuration). */
export type SnapshotMode = 'initial' | 'no_data' | 'when_needed' | 'initial_only';

/** libpq `sslmode` values the PostgreSQL JDBC driver accepts. */
export type PostgresSslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

export interface DebeziumPostgresConnectorOptions {
  /** The connector's name (Kafka Connect's `name`; on MSK Connect the connector name). */
  readonly connectorName: string;
  readonly database: {
    readonly host: string;
    readonly port: number;
    /** The database (`database.dbname`). */
    readonly name: string;
  };
  /**
   * Where the config provider finds the credentials: on MSK Connect the Secrets Manager secret's
   * NAME (a JSON secret with `username` and `password`); locally the path of a properties file.
   * Never an ARN: Kafka's `${provider:path:key}` syntax splits at the first `:` after the provider,
   * so a path cannot contain `:`.
   */
  readonly secretReference: string;
  /** `schema.table` names to capture. @default ['public.orders'] */
  readonly tables?: readonly string[];
  /** The logical replication slot (fixed: a new name would start from scratch and leak the old slot). */
  readonly slotName: string;
  /**
   * The publication, created by the table owner for exactly `tables` (renderSourceDatabaseSetup in
   * source-database.ts); the connector only checks that it exists (`publication.autocreate.mode`
   * `disabled`), so its login needs no ownership and no CREATE.
   */
  readonly publicationName: string;
  /** The target topic: the catalog's cdc.orders (TOPIC_SPECS.cdcOrders.name). */
  readonly topic: string;
  /**
   * What happens on the first start. `initial` for the platform: cdc.orders is compacted state of
   * every order, so consumers need the orders that exist before the connector starts (read once
   * as `__op: "r"` records), and after that streaming resumes from the committed LSN without
   * another snapshot. `when_needed` also re-snapshots when the stored offsets are gone or point
   * to WAL the slot no longer holds; `no_data` streams only changes after the slot is created.
   */
  readonly snapshotMode: SnapshotMode;
  /**
   * `heartbeat.interval.ms`. Debezium confirms a position to the slot only when Kafka Connect
   * commits offsets, and offsets only move when a record is produced: without heartbeats, a slot
   * whose tables are idle while the rest of the database (or instance) writes WAL would hold that
   * WAL forever. A heartbeat record every interval lets the confirmed position follow the server.
   */
  readonly heartbeatIntervalMs: number;
  /** `database.sslmode`. @default 'require' */
  readonly sslMode?: PostgresSslMode;
  /**
   * How long the connector waits for a busy replication slot: `slot.max.retries` attempts
   * `slot.retry.delay.ms` apart. @default SLOT_RETRY
   */
  readonly slotRetry?: { readonly maxRetries: number; readonly delayMs: number };
}

/**
 * The connector's patience with a slot another walsender still holds: 30 attempts 10 s apart (5
 * minutes). When a connector is replaced (lib/cdc/connector-resource.ts deletes the old one, then
 * creates the new one under the same name), a worker that vanished without closing its connection
 * keeps the slot "active" until the server's `wal_sender_timeout` (60 s by default, also on RDS)
 * ends that walsender; the new task must outwait it instead of failing. Debezium's default (6 x
 * 10 s) leaves little margin.
 */
export const SLOT_RETRY = { maxRetries: 30, delayMs: 10_000 } as const;

/** Prefix of the logical decoding messages the heartbeat action writes (and the connector drops). */
const HEARTBEAT_MESSAGE_PREFIX = 'cdc-heartbeat';
const TABLE_NAME = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;
const PG_IDENTIFIER = /^[a-z0-9_]{1,63}$/;
const JSON_CONVERTER = 'org.apache.kafka.connect.json.JsonConverter';

/** A config provider placeholder: `${<provider>:<reference>:<key>}`. */
function secretPlaceholder(reference: string, key: string): string {
  return `\${${SECRETS_CONFIG_PROVIDER}:${reference}:${key}}`;
}

/**
 * A value as validation sees it: a CDK token (`${Token[…]}`, resolved only at deploy time) stands
 * for a valid name, so a construct may pass a secret name, host or topic name it does not know yet.
 */
function checkable(value: string): string {
  return value.replace(/\$\{Token\[[^\]]*\]\}/g, 'token');
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The flat connector configuration of the Debezium PostgreSQL connector for cdc.orders: what
 * MSK Connect's `connectorConfiguration` carries and what Kafka Connect's REST API takes.
 */
export function renderDebeziumPostgresConfig(
  options: DebeziumPostgresConnectorOptions,
): Record<string, string> {
  const tables = options.tables ?? DEFAULT_CDC_TABLES;
  const problems: string[] = [];
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(options.connectorName))
    problems.push(`connectorName: must be 1..128 of A-Z a-z 0-9 _ . - (got "${options.connectorName}")`);
  if (tables.length === 0) problems.push('tables: must list at least one table');
  for (const table of tables)
    if (!TABLE_NAME.test(table)) problems.push(`tables: "${table}" must be schema.table (lower case)`);
  if (new Set(tables).size !== tables.length) problems.push('tables: must not repeat a table');
  if (!PG_IDENTIFIER.test(options.slotName)) problems.push(`slotName: must match ${PG_IDENTIFIER.source}`);
  if (!PG_IDENTIFIER.test(options.publicationName))
    problems.push(`publicationName: must match ${PG_IDENTIFIER.source}`);
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(checkable(options.topic)))
    problems.push(`topic: not a Kafka topic name ("${options.topic}")`);
  if (options.topic === CDC_HEARTBEAT_TOPIC) problems.push('topic: must not be the heartbeat topic');
  if (options.secretReference.length === 0 || /[:{}$]/.test(checkable(options.secretReference)))
    problems.push(
      'secretReference: must be a non-empty secret name without ":", "{", "}" or "$" (not an ARN)',
    );
  if (!Number.isInteger(options.database.port) || options.database.port < 1 || options.database.port > 65535)
    problems.push('database.port: must be a TCP port');
  if (options.database.host.length === 0) problems.push('database.host: must be a host name');
  if (options.database.name.length === 0) problems.push('database.name: must be a database name');
  if (!Number.isInteger(options.heartbeatIntervalMs) || options.heartbeatIntervalMs < 1000)
    problems.push('heartbeatIntervalMs: must be an integer of at least 1000');
  const slotRetry = options.slotRetry ?? SLOT_RETRY;
  if (!Number.isInteger(slotRetry.maxRetries) || slotRetry.maxRetries < 1)
    problems.push('slotRetry.maxRetries: must be a positive integer');
  if (!Number.isInteger(slotRetry.delayMs) || slotRetry.delayMs < 100)
    problems.push('slotRetry.delayMs: must be an integer of at least 100');
  if (problems.length > 0)
    throw new Error(`Invalid Debezium connector options:\n  - ${problems.join('\n  - ')}`);

  // Debezium names a table's topic <topic.prefix>.<schema>.<table>; route exactly those (and not
  // the heartbeat topic) to the target topic.
  const tableTopics = tables.map((t) => escapeRegex(`${CDC_TOPIC_PREFIX}.${t}`));
  return {
    name: options.connectorName,
    'connector.class': DEBEZIUM_POSTGRES_CONNECTOR_CLASS,
    // The PostgreSQL connector reads one slot: one task, whatever the worker count.
    'tasks.max': '1',

    'database.hostname': options.database.host,
    'database.port': String(options.database.port),
    'database.dbname': options.database.name,
    'database.user': secretPlaceholder(options.secretReference, 'username'),
    'database.password': secretPlaceholder(options.secretReference, 'password'),
    'database.sslmode': options.sslMode ?? 'require',
    // MSK Connect restarts connectors that use config providers periodically unless told not to;
    // the credentials are read at each task start anyway.
    'config.action.reload': 'none',

    'topic.prefix': CDC_TOPIC_PREFIX,
    // PostgreSQL's built-in logical decoding output plugin (nothing to install on RDS).
    'plugin.name': 'pgoutput',
    'slot.name': options.slotName,
    'slot.drop.on.stop': 'false',
    'slot.max.retries': String(slotRetry.maxRetries),
    'slot.retry.delay.ms': String(slotRetry.delayMs),
    'publication.name': options.publicationName,
    // The table owner creates the publication (source-database.ts); the connector's login may not.
    'publication.autocreate.mode': 'disabled',
    'table.include.list': tables.join(','),
    'snapshot.mode': options.snapshotMode,
    'heartbeat.interval.ms': String(options.heartbeatIntervalMs),
    'topic.heartbeat.prefix': CDC_HEARTBEAT_TOPIC_PREFIX,
    // pgoutput (PostgreSQL 15+) sends nothing for transactions that touch no published table, so
    // heartbeats alone would keep confirming the last captured LSN while other tables fill the WAL.
    // Each heartbeat first writes a logical decoding message (no table, no privilege beyond the
    // replication role); decoding it moves the connector's position to the current WAL end, and
    // the heartbeat then commits that position to the slot. The messages themselves are dropped.
    'heartbeat.action.query': `SELECT pg_logical_emit_message(false, '${HEARTBEAT_MESSAGE_PREFIX}', now()::text)`,
    'message.prefix.exclude.list': HEARTBEAT_MESSAGE_PREFIX,
    // A delete emits the delete event and then a tombstone for its key.
    'tombstones.on.delete': 'true',

    'key.converter': JSON_CONVERTER,
    'key.converter.schemas.enable': 'false',
    'value.converter': JSON_CONVERTER,
    'value.converter.schemas.enable': 'false',

    transforms: 'unwrap,route',
    // The row after the change, plus __op, __lsn and __source_ts_ms; a delete becomes a record with
    // __deleted "true" carrying the last row values (captured tables have REPLICA IDENTITY FULL)
    // followed by the tombstone.
    'transforms.unwrap.type': 'io.debezium.transforms.ExtractNewRecordState',
    'transforms.unwrap.add.fields': 'op,lsn,source.ts_ms',
    'transforms.unwrap.delete.tombstone.handling.mode': 'rewrite-with-tombstone',
    'transforms.route.type': 'org.apache.kafka.connect.transforms.RegexRouter',
    'transforms.route.regex': tableTopics.length === 1 ? tableTopics[0]! : `(?:${tableTopics.join('|')})`,
    'transforms.route.replacement': options.topic,
  };
}

/**
 * The catalog topic that keeps the source offsets of every connector generation (`offset.storage.topic`
 * in every worker configuration). Kafka Connect keys a source offset by connector name, and a
 * connector that replaces another under the same name finds the old one's offsets here (compacted).
 */
export const CONNECT_OFFSETS_TOPIC: string = TOPIC_SPECS.cdcConnectOffsets.name;

export interface WorkerConfigOptions {
  /**
   * The secrets config provider registered as SECRETS_CONFIG_PROVIDER: its class and its
   * `config.providers.<name>.param.*` parameters (for AWS's provider, e.g. `{ region: 'eu-west-1' }`).
   * Its JAR must be in the connector's custom plugin.
   */
  readonly secretsProvider: {
    readonly className: string;
    readonly params?: Readonly<Record<string, string>>;
  };
  /**
   * `offset.storage.topic`: the catalog's CONNECT_OFFSETS_TOPIC for a source connector, on MSK
   * Connect and locally. A sink keeps no source offsets (its progress is its consumer group's), so
   * it leaves the worker's default. @default not set
   */
  readonly offsetStorageTopic?: string;
}

/**
 * The worker configuration properties MSK Connect's worker configuration carries (the local worker
 * uses the same plus local-only settings: bootstrap servers, internal topics, REST listener,
 * plugin.path): JSON converters without schemas and the secrets config provider.
 */
export function renderWorkerConfig(options: WorkerConfigOptions): Record<string, string> {
  const provider = SECRETS_CONFIG_PROVIDER;
  const params = Object.entries(options.secretsProvider.params ?? {}).map(
    ([k, v]) => [`config.providers.${provider}.param.${k}`, v] as const,
  );
  return {
    'key.converter': JSON_CONVERTER,
    'key.converter.schemas.enable': 'false',
    'value.converter': JSON_CONVERTER,
    'value.converter.schemas.enable': 'false',
    'config.providers': provider,
    [`config.providers.${provider}.class`]: options.secretsProvider.className,
    ...Object.fromEntries(params),
    ...(options.offsetStorageTopic ? { 'offset.storage.topic': options.offsetStorageTopic } : {}),
  };
}

/**
 * A resource name that carries the first 8 hex digits of the SHA-256 of its content: a content
 * change is a new name, so CloudFormation can create the replacement of a named resource whose
 * content is create-only (a worker configuration's `PropertiesFileContent`) before it deletes the
 * old one.
 */
export function contentHashedName(prefix: string, content: string): string {
  return `${prefix}-${createHash('sha256').update(content).digest('hex').slice(0, 8)}`;
}

/** A `java.util.Properties` text of flat properties (MSK Connect's worker `propertiesFileContent`). */
export function toPropertiesText(properties: Readonly<Record<string, string>>): string {
  const escape = (text: string, isKey: boolean) =>
    text
      .replace(/\\/g, '\\\\')
      .replace(/\n/g, '\\n')
      .replace(/\r/g, '\\r')
      .replace(/\t/g, '\\t')
      .replace(isKey ? /([=: #!])/g : /^( )/, '\\$1')
      .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return Object.entries(properties)
    .map(([k, v]) => `${escape(k, true)}=${escape(v, false)}`)
    .join('\n')
    .concat('\n');
}
