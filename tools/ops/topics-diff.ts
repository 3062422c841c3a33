/**
 * `topics diff`: the live topics against the catalog of the environment. The catalog side is what
 * the templates create (`AWS::MSK::Topic`: partitions, replication factor and the Configs of
 * `kafkaTopicConfigs`, lib/topics/topic-settings.ts); the live side is read with kafkajs admin
 * (metadata and describeConfigs). Pure diff and rendering, plus the live read.
 */
import { ConfigResourceTypes, ConfigSource, type Admin } from 'kafkajs';
import type { EnvironmentConfig } from '../../lib/config/platform-config';
import { kafkaTopicConfigs } from '../../lib/topics/topic-settings';
import { TOPIC_IDS } from '../../lib/topics/topic-specs';

/** A topic as the catalog creates it. */
export interface CatalogTopicState {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
}

/** A topic as the cluster holds it. */
export interface LiveTopicState {
  readonly name: string;
  readonly partitions: number;
  /** The replica count of each partition (they differ only after a partial reassignment). */
  readonly replicationFactors: readonly number[];
  /** Every config's effective value (topic override or broker default). */
  readonly configs: Readonly<Record<string, string>>;
  /** The configs set on the topic itself (DescribeConfigs source TOPIC_CONFIG). */
  readonly topicConfigKeys: readonly string[];
}

export type TopicDifference =
  | { readonly kind: 'missing' }
  | { readonly kind: 'partitions'; readonly catalog: number; readonly live: number }
  | { readonly kind: 'replication'; readonly catalog: number; readonly live: readonly number[] }
  | {
      readonly kind: 'config';
      readonly key: string;
      readonly catalog: string | undefined;
      readonly live: string | undefined;
    };

export interface TopicsDiff {
  /** Catalog topics that differ, in catalog order, each with its differences. */
  readonly drifted: readonly { readonly topic: string; readonly differences: readonly TopicDifference[] }[];
  /** Catalog topics that match. */
  readonly matching: readonly string[];
  /** Live topics the catalog does not name (internal topics left out), sorted. Not drift. */
  readonly notInCatalog: readonly string[];
}

/** Kafka's and MSK's internal topics (`__consumer_offsets`, `__amazon_msk_connect_*`, ...) and Kafka Connect's `connect-*`. */
export function isInternalTopic(name: string): boolean {
  return name.startsWith('__') || name.startsWith('connect-');
}

/** Every catalog topic of the environment, as its `AWS::MSK::Topic` resource creates it. */
export function catalogTopics(config: Pick<EnvironmentConfig, 'topics'>): CatalogTopicState[] {
  return TOPIC_IDS.map((id) => {
    const { name, settings } = config.topics[id];
    return {
      name,
      partitions: settings.partitions,
      replicationFactor: settings.replicationFactor,
      configs: kafkaTopicConfigs(settings),
    };
  });
}

/** `compact,delete` and `delete,compact` are one policy; other values compare as strings. */
function normalize(key: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (key === 'cleanup.policy')
    return value
      .split(',')
      .map((v) => v.trim())
      .sort()
      .join(',');
  return value;
}

export function diffTopics(
  catalog: readonly CatalogTopicState[],
  live: readonly LiveTopicState[],
): TopicsDiff {
  const liveByName = new Map(live.map((t) => [t.name, t]));
  const drifted: { topic: string; differences: TopicDifference[] }[] = [];
  const matching: string[] = [];
  for (const want of catalog) {
    const have = liveByName.get(want.name);
    const differences: TopicDifference[] = [];
    if (!have) differences.push({ kind: 'missing' });
    else {
      if (have.partitions !== want.partitions)
        differences.push({ kind: 'partitions', catalog: want.partitions, live: have.partitions });
      if (have.replicationFactors.some((rf) => rf !== want.replicationFactor))
        differences.push({
          kind: 'replication',
          catalog: want.replicationFactor,
          live: [...new Set(have.replicationFactors)].sort((a, b) => a - b),
        });
      const keys = new Set([...Object.keys(want.configs), ...have.topicConfigKeys]);
      for (const key of [...keys].sort()) {
        const catalogValue = want.configs[key];
        const liveValue = have.configs[key];
        // A topic-level config the catalog does not set is drift only when it is set on the topic.
        if (catalogValue === undefined && !have.topicConfigKeys.includes(key)) continue;
        if (normalize(key, catalogValue) !== normalize(key, liveValue))
          differences.push({ kind: 'config', key, catalog: catalogValue, live: liveValue });
      }
    }
    if (differences.length > 0) drifted.push({ topic: want.name, differences });
    else matching.push(want.name);
  }
  const names = new Set(catalog.map((t) => t.name));
  const notInCatalog = live
    .map((t) => t.name)
    .filter((n) => !names.has(n) && !isInternalTopic(n))
    .sort();
  return { drifted, matching, notInCatalog };
}

function differenceLine(d: TopicDifference): string {
  switch (d.kind) {
    case 'missing':
      return 'missing on the cluster';
    case 'partitions':
      return `partitions: catalog ${d.catalog}, live ${d.live}`;
    case 'replication':
      return `replication factor: catalog ${d.catalog}, live ${d.live.join('/')}`;
    case 'config':
      return `${d.key}: catalog ${d.catalog ?? '(not set)'}, live ${d.live ?? '(not set)'}`;
  }
}

/** The printed diff, line by line; the last line says whether there is drift. */
export function renderTopicsDiff(envName: string, diff: TopicsDiff): string[] {
  const total = diff.drifted.length + diff.matching.length;
  const lines = [`topics diff ${envName}: ${total} catalog topics`];
  for (const { topic, differences } of diff.drifted) {
    if (differences.length === 1 && differences[0]!.kind === 'missing') {
      lines.push(`- ${topic}: missing on the cluster`);
      continue;
    }
    lines.push(`~ ${topic}`);
    for (const d of differences) lines.push(`    ${differenceLine(d)}`);
  }
  for (const name of diff.notInCatalog) lines.push(`? ${name}: not in the catalog (not drift)`);
  lines.push(
    diff.drifted.length === 0
      ? `no drift: ${diff.matching.length} of ${total} topics match the catalog`
      : `drift: ${diff.drifted.length} of ${total} topics differ from the catalog`,
  );
  return lines;
}

/** Reads every topic of the cluster: partitions, replica counts, configs. */
export async function readLiveTopics(admin: Admin): Promise<LiveTopicState[]> {
  const names = (await admin.listTopics()).sort();
  if (names.length === 0) return [];
  const { topics } = await admin.fetchTopicMetadata({ topics: names });
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  const configsByName = new Map(
    described.resources.map((r) => {
      if (r.errorCode !== 0)
        throw new Error(`describeConfigs ${r.resourceName}: error ${r.errorCode} ${r.errorMessage ?? ''}`);
      return [r.resourceName, r.configEntries] as const;
    }),
  );
  return topics.map((t) => {
    const entries = configsByName.get(t.name) ?? [];
    return {
      name: t.name,
      partitions: t.partitions.length,
      replicationFactors: t.partitions.map((p) => p.replicas.length),
      configs: Object.fromEntries(entries.map((e) => [e.configName, e.configValue])),
      topicConfigKeys: entries
        .filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG)
        .map((e) => e.configName)
        .sort(),
    };
  });
}
