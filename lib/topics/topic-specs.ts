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
   * For dead-letter topics: the ids of the catalog topics that consumer reads, whose records it
   * dead-letters here. The topic's maxMessageBytes defaults to the largest of theirs plus the
   * dead-letter headroom, and may not be set below that (topic-settings.ts).
   */
  readonly sources?: readonly string[];
  /**
   * Settings that are part of the design rather than of the environment (for example compaction for
   * keyed state). They override the environment's `topicDefaults` and are overridden by the
   * environment's per-topic settings and by `-c` overrides.
   */
  readonly defaults?: Partial<TopicSettings>;
}

const KEYED_STATE: Partial<TopicSettings> = { cleanupPolicy: 'compact' };

function deadLetter(consumer: string, sources: readonly string[]): TopicSpec {
  return {
    name: `dlq.${consumer}`,
    key: 'the original record key',
    description: `Dead-letter records of the ${consumer} consumer: original bytes plus dlq.* headers`,
    deadLetterFor: consumer,
    sources,
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
  dlqEnrich: deadLetter('enrich', ['eventsUser', 'cdcOrders']),
  dlqAggregate: deadLetter('aggregate', ['eventsEnriched']),
  dlqSessionize: deadLetter('sessionize', ['telemetryRaw']),
  dlqAlerting: deadLetter('alerting', ['telemetryAlerts']),
  dlqSnowflakeSink: deadLetter('snowflake-sink', ['eventsAggregates']),
} as const satisfies Record<string, TopicSpec>;

/** The catalog's stable identifiers (code refers to topics by these, never by name). */
export type TopicId = keyof typeof TOPIC_SPECS;

export const TOPIC_IDS = Object.keys(TOPIC_SPECS) as TopicId[];

/** The Kafka name of a topic. */
export function topicName(id: TopicId): string {
  return TOPIC_SPECS[id].name;
}

/**
 * The topics whose records are dead-lettered into a dead-letter topic (empty for other topics).
 * Throws at load if a spec names an unknown topic or another dead-letter topic as a source.
 */
export function deadLetterSources(id: TopicId): readonly TopicId[] {
  return DEAD_LETTER_SOURCES[id];
}

const DEAD_LETTER_SOURCES = Object.fromEntries(
  TOPIC_IDS.map((id) => {
    const spec: TopicSpec = TOPIC_SPECS[id];
    const sources = (spec.sources ?? []).map((source) => {
      const sourceSpec: TopicSpec | undefined = (TOPIC_SPECS as Record<string, TopicSpec>)[source];
      if (!sourceSpec || sourceSpec.deadLetterFor !== undefined)
        throw new Error(
          `topic-specs.ts: ${spec.name} names "${source}" as a source; expected the id of a topic that is not a dead-letter topic`,
        );
      return source as TopicId;
    });
    return [id, sources];
  }),
) as unknown as Record<TopicId, readonly TopicId[]>;

/** Finds a topic by its Kafka name. */
export function topicIdByName(name: string): TopicId | undefined {
  return TOPIC_IDS.find((id) => TOPIC_SPECS[id].name === name);
}
