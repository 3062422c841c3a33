/**
 * The diagram's names for what the templates hold: each data-flow component by the construct path
 * it lives under, each sink, the outside inputs, and the constructs that touch topics or sinks
 * without carrying data (set-up at deploy time). Generation fails on a role, mapping, rule or
 * connector that reads or writes a topic or a sink under a path none of these covers, so a new
 * producer or consumer cannot be left out of the diagram silently: it has to be named here.
 */
import { DEBEZIUM_POSTGRES_CONNECTOR_CLASS } from '../../lib/cdc/debezium-config';
import { SNOWFLAKE_SINK_CONNECTOR_CLASS } from '../../lib/warehouse/snowflake-config';

export interface ComponentSpec {
  /** Node id; for consumers, the consumer name of their dead-letter topic in the catalog. */
  readonly id: string;
  /** The construct path (stack kind first, e.g. `events/Enrich`) everything of the component lives under. */
  readonly path: string;
  /** Mermaid label (`<br/>` breaks lines). */
  readonly label: string;
  /** When the component exists only under a condition: the condition, for the diagram. */
  readonly onlyWith?: string;
}

export const SNOWFLAKE_CONDITION = 'only when the environment configures a Snowflake account';

export const COMPONENTS: readonly ComponentSpec[] = [
  { id: 'ingest', path: 'sources/EventIngest', label: 'API Gateway +<br/>ingest Lambda' },
  { id: 'cdc', path: 'sources/OrdersCdc', label: 'Debezium<br/>on MSK Connect' },
  { id: 'iot-bridge', path: 'sources/IotBridge', label: 'IoT Core topic rules<br/>Kafka action, SCRAM' },
  { id: 'enrich', path: 'events/Enrich', label: 'enrich Lambda' },
  { id: 'aggregate', path: 'events/Aggregate', label: 'aggregate Lambda' },
  { id: 'sessionize', path: 'telemetry/Sessionize', label: 'sessionize<br/>on Managed Flink' },
  { id: 'alerting', path: 'telemetry/Alerting', label: 'alerting Lambda' },
  {
    id: 'snowflake-sink',
    path: 'warehouse/SnowflakeSink',
    label: 'Snowflake connector<br/>on MSK Connect',
    onlyWith: SNOWFLAKE_CONDITION,
  },
];

export interface SinkSpec {
  readonly id: string;
  /** The construct path of the data store (bucket, domain, SNS topic). */
  readonly path: string;
  readonly label: string;
}

/** Data stores in the templates that components write to (s3:PutObject, es:ESHttp*, sns:Publish). */
export const SINKS: readonly SinkSpec[] = [
  { id: 'opensearch', path: 'events/Search/Domain', label: 'OpenSearch' },
  { id: 'lake', path: 'telemetry/Lake/Bucket', label: 'S3 data lake<br/>sessions' },
  { id: 'alert-topic', path: 'telemetry/Alerting/Topic', label: 'SNS alert topic' },
  { id: 'raw-capture', path: 'sources/IotBridge/Bucket', label: 'S3 raw capture<br/>and rule errors' },
];

/** A component's own state kept beside it (not under its path): left out of the diagram. */
export const STATE_OF: readonly { readonly path: string; readonly owner: string }[] = [
  { path: 'events/EnrichState', owner: 'enrich' },
  { path: 'events/AggregateState', owner: 'aggregate' },
];

/** Constructs that reach a sink but carry no data through it, with why they are left out. */
export const PLUMBING: readonly { readonly path: string; readonly reason: string }[] = [
  { path: 'events/Search/Setup', reason: 'puts the index templates and role mappings at deploy time' },
];

/** Inputs from outside the platform. */
export const INPUTS = {
  http: { id: 'app-clients', label: 'App clients' },
  mqtt: { id: 'iot-devices', label: 'IoT devices' },
  postgres: { id: 'postgres', label: 'PostgreSQL' },
} as const;

/** What a connector class is: a source from outside, or a sink to outside. */
export const CONNECTOR_CLASSES: Readonly<
  Record<string, { readonly kind: 'postgres-source' } | { readonly kind: 'sink'; readonly sink: SinkSpec }>
> = {
  [DEBEZIUM_POSTGRES_CONNECTOR_CLASS]: { kind: 'postgres-source' },
  [SNOWFLAKE_SINK_CONNECTOR_CLASS]: {
    kind: 'sink',
    sink: { id: 'snowflake', path: 'Snowflake (outside AWS)', label: 'Snowflake' },
  },
};

/** MSK Connect names its own internal topics with this prefix at run time; they are not catalog topics. */
export const MSK_CONNECT_INTERNAL_TOPIC_PREFIX = '__amazon_msk_connect_';

/** True when `path` is `prefix` or below it. */
export const under = (path: string, prefix: string): boolean =>
  path === prefix || path.startsWith(`${prefix}/`);
