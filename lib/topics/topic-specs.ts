/**
 * The topic catalog's identity half: every topic of the platform, its Kafka name, its key and what
 * it carries. This file is the ONE place where topic names are spelled; everything else (constructs,
 * Lambda environment, connector configs, Flink parameters, alarms, local tools) takes them from here
 * or from the TopicCatalog construct built on it. It imports nothing from the CDK, so runtime code and
 * local tools can use it too.
 */
import type { TopicSettings } from './topic-settings';

export interface TopicSpec {
  /** The Kafka topic name. */
  readonly name: string;
  /** What the record key is. */
  readonly key: string;
  /** What the topic carries, for docs and SSM parameter descriptions. */
  readonly description: string;
  /** The consumer this topic is the dead-letter topic of, for dead-letter topics. */
  readonly deadLetterFor?: string;
  /**
   * Settings that are part of the design rather than of the environment (for example compaction for
   * keyed state). They override the environment's `topicDefaults` and are overridden by the
   * environment's per-topic settings and by `-c` overrides.
   */
  readonly defaults?: Partial<TopicSettings>;
}

const KEYED_STATE: Partial<TopicSettings> = { cleanupPolicy: 'compact' };

function deadLetter(consumer: string): TopicSpec {
  return {
    name: `dlq.${consumer}`,
    key: 'the original record key',
    description: `Dead-letter records of the ${consumer} consumer: original bytes plus dlq.* headers`,
    deadLetterFor: consumer,
  };
}

export const TOPIC_SPECS = {
  eventsUser: {
    name: 'events.user',
    key: 'userId',
    description: 'App events from the ingest endpoint (schemaVersion 1)',
  },
  cdcOrders: {
    name: 'cdc.orders',
    key: '{"id": <order id>}',
    description: 'Debezium change records of public.orders, flattened, with tombstones after deletes',
    defaults: KEYED_STATE,
  },
  cdcHeartbeat: {
    name: 'cdc.heartbeat.orders',
    key: '{"serverName": <Debezium topic.prefix>}',
    description:
      'Debezium heartbeats of the orders connector: offsets advance, and the replication slot with them, while the tables are idle',
    defaults: { partitions: 1, retention: 86_400_000 },
  },
  cdcConnectOffsets: {
    name: 'cdc.connect-offsets',
    key: 'Kafka Connect source offset key: ["<connector name>", {"server": <Debezium topic.prefix>}]',
    description:
      'offset.storage.topic of every CDC worker configuration: a connector replaced under the same name resumes from these offsets',
    defaults: { ...KEYED_STATE, partitions: 5 },
  },
  telemetryRaw: {
    name: 'telemetry.raw',
    key: 'deviceId',
    description: 'Device telemetry bridged from MQTT devices/{deviceId}/telemetry by IoT Core',
  },
  eventsEnriched: {
    name: 'events.enriched',
    key: 'userId',
    description: 'App events joined with the user order state',
  },
  eventsAggregates: {
    name: 'events.aggregates',
    key: 'windowKey',
    description:
      'Windowed aggregates of events.enriched; newest record per windowKey wins (sunk into Snowflake)',
    defaults: KEYED_STATE,
  },
  telemetryAlerts: {
    name: 'telemetry.alerts',
    key: 'deviceId',
    description: 'Alerts raised by the telemetry Flink application',
  },
  dlqEnrich: deadLetter('enrich'),
  dlqAggregate: deadLetter('aggregate'),
  dlqSessionize: deadLetter('sessionize'),
  dlqAlerting: deadLetter('alerting'),
  dlqSnowflakeSink: deadLetter('snowflake-sink'),
} as const satisfies Record<string, TopicSpec>;

/** The catalog's stable identifiers (code refers to topics by these, never by name). */
export type TopicId = keyof typeof TOPIC_SPECS;

export const TOPIC_IDS = Object.keys(TOPIC_SPECS) as TopicId[];

/** The Kafka name of a topic. */
export function topicName(id: TopicId): string {
  return TOPIC_SPECS[id].name;
}

/** Finds a topic by its Kafka name. */
export function topicIdByName(name: string): TopicId | undefined {
  return TOPIC_IDS.find((id) => TOPIC_SPECS[id].name === name);
}
