/**
 * The topic catalog's settings half: what can be tuned per topic, how each setting is parsed and
 * checked, how the layers merge, and how the result is written as Kafka topic configs. Pure
 * functions with no CDK import: the construct, the tests and the local engine harness share them.
 *
 * Layers, lowest first:
 *   1. `environments.<env>.topicDefaults` in cdk.json (every setting required);
 *   2. the topic's design defaults in topic-specs.ts (e.g. compaction for keyed state);
 *   3. `environments.<env>.topics.<topic>` in cdk.json;
 *   4. `-c topics.<topic>.<setting>=<value>` on the command line.
 * A dead-letter topic's maxMessageBytes, unless set for that topic (3. or 4.), is derived from its
 * sources instead: the largest of theirs plus {@link DEAD_LETTER_HEADROOM_BYTES}.
 */
import type { IssueSink } from '../config/errors';
import { closestName } from '../config/suggest';
import {
  formatDuration,
  formatSize,
  parseDuration,
  parseInteger,
  parseSize,
  type Parsed,
} from '../config/units';
import { deadLetterSources, TOPIC_IDS, TOPIC_SPECS, topicIdByName, type TopicId } from './topic-specs';

export const CLEANUP_POLICIES = ['delete', 'compact', 'compact,delete'] as const;
export type CleanupPolicy = (typeof CLEANUP_POLICIES)[number];

export const COMPRESSION_TYPES = ['producer', 'zstd', 'lz4', 'snappy', 'gzip', 'uncompressed'] as const;
export type CompressionType = (typeof COMPRESSION_TYPES)[number];

/** A topic's resolved settings. Durations are milliseconds, sizes bytes, -1 means no limit. */
export interface TopicSettings {
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  readonly retention: number;
  readonly retentionBytes: number;
  readonly cleanupPolicy: CleanupPolicy;
  readonly compression: CompressionType;
  readonly maxMessageBytes: number;
  readonly deleteRetention: number;
}

export type SettingName = keyof TopicSettings;

/** Settings as written in cdk.json or on the command line, before parsing. */
export type RawTopicSettings = { readonly [K in SettingName]?: unknown };

const MIN_RETENTION_MS = 60_000;
const MAX_PARTITIONS = 10_000;
const MIN_MESSAGE_BYTES = 1024;
/** Lambda's Kafka event source delivers at most 6 MB per invocation; keep single records well below it. */
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/**
 * How much larger than its largest source a dead-letter topic's records may be (CONTRACT.md,
 * "Dead-letter records"): a record at its source's maximum plus what the writer adds to it.
 *   - our consumers: the dlq.* headers, under 6 KiB with `dlq.detail` truncated to 4 KiB
 *     (reason, source topic/partition/offset, consumer, time: a few hundred bytes);
 *   - Kafka Connect's dead-letter queue: the `__connect.errors.*` headers, of which
 *     `exception.stacktrace` is a whole Java stack trace with its causes: usually 5-30 KiB;
 *   - record and batch framing: 61 bytes of batch header, a few varints per record and header.
 * 256 KiB covers these several times over. It is a limit, not an allocation: raising
 * max.message.bytes costs nothing until such a record exists. With the 1 MiB sources of every
 * environment a dead-letter record is at most 1.25 MiB, 1.67 MB in base64, so it still fits
 * Lambda's 6 MB Kafka batch payload if a Lambda ever reads a dead-letter topic; a source can go up
 * to 8 MiB - 256 KiB before its dead-letter topic would pass the 8 MiB ceiling. The limit applies to
 * the compressed batch: a writer keeps the guarantee by compressing at least as well as the source.
 */
export const DEAD_LETTER_HEADROOM_BYTES = 256 * 1024;
const MIN_RETENTION_BYTES = 1024 * 1024;

interface SettingDef {
  /** The Kafka topic config it becomes, or undefined where it is a topic property. */
  readonly kafka?: string;
  /** Human text of what is allowed (used in error messages and the README table). */
  readonly allowed: string;
  parse(raw: unknown): Parsed<TopicSettings[SettingName]>;
}

function intRange(min: number, max: number): (raw: unknown) => Parsed<number> {
  return (raw) => {
    const p = parseInteger(raw);
    if (!p.ok) return p;
    if (p.value < min || p.value > max)
      return { ok: false, message: `must be between ${min} and ${max} (got ${p.value})` };
    return p;
  };
}

function oneOf<T extends string>(values: readonly T[]): (raw: unknown) => Parsed<T> {
  return (raw) =>
    typeof raw === 'string' && (values as readonly string[]).includes(raw)
      ? { ok: true, value: raw as T }
      : { ok: false, message: `must be one of ${values.join(' | ')} (got ${JSON.stringify(raw)})` };
}

function bounded(p: Parsed<number>, min: number, max: number, fmt: (n: number) => string): Parsed<number> {
  if (!p.ok || p.value === -1) return p;
  if (p.value < min || p.value > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER ? `at least ${fmt(min)}` : `between ${fmt(min)} and ${fmt(max)}`;
    return { ok: false, message: `must be ${range} (got ${fmt(p.value)})` };
  }
  return p;
}

export const SETTING_DEFS: Record<SettingName, SettingDef> = {
  partitions: {
    allowed: `whole number 1..${MAX_PARTITIONS} (partitions can only grow on a live topic)`,
    parse: intRange(1, MAX_PARTITIONS),
  },
  replicationFactor: {
    allowed: 'whole number 1..the broker count (changing it replaces the topic resource: see README)',
    parse: intRange(1, 64),
  },
  minInsyncReplicas: {
    kafka: 'min.insync.replicas',
    allowed: 'whole number 1..replicationFactor',
    parse: intRange(1, 64),
  },
  retention: {
    kafka: 'retention.ms',
    allowed: `duration >= 1m, or -1 / infinite`,
    parse: (raw) =>
      bounded(parseDuration(raw, true), MIN_RETENTION_MS, Number.MAX_SAFE_INTEGER, formatDuration),
  },
  retentionBytes: {
    kafka: 'retention.bytes',
    allowed: 'size >= 1MiB per partition, or -1 / unlimited',
    parse: (raw) => bounded(parseSize(raw, true), MIN_RETENTION_BYTES, Number.MAX_SAFE_INTEGER, formatSize),
  },
  cleanupPolicy: {
    kafka: 'cleanup.policy',
    allowed: CLEANUP_POLICIES.join(' | '),
    parse: oneOf(CLEANUP_POLICIES),
  },
  compression: {
    kafka: 'compression.type',
    allowed: COMPRESSION_TYPES.join(' | '),
    parse: oneOf(COMPRESSION_TYPES),
  },
  maxMessageBytes: {
    kafka: 'max.message.bytes',
    allowed: 'size 1KiB..8MiB',
    parse: (raw) => bounded(parseSize(raw, false), MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES, formatSize),
  },
  deleteRetention: {
    kafka: 'delete.retention.ms',
    allowed: 'duration 0..30d: how long tombstones of a compacted topic stay readable',
    parse: (raw) => bounded(parseDuration(raw, false), 0, 30 * 86_400_000, formatDuration),
  },
};

export const SETTING_NAMES = Object.keys(SETTING_DEFS) as SettingName[];

function isSettingName(name: string): name is SettingName {
  return (SETTING_NAMES as string[]).includes(name);
}

/** A topic of the catalog with its settings resolved for one environment. */
export interface ResolvedTopic {
  readonly id: TopicId;
  readonly name: string;
  readonly settings: TopicSettings;
  /** For each setting, the context key its value came from (for error messages and docs). */
  readonly sources: Readonly<Record<SettingName, string>>;
}

export interface ResolveTopicsInput {
  readonly envName: string;
  /** `environments.<env>.topicDefaults` (every setting required). */
  readonly topicDefaults: unknown;
  /** `environments.<env>.topics`: per topic name, some settings. */
  readonly topics: unknown;
  /** Every context key and value (the `topics.*` keys are the command-line overrides). */
  readonly context: Readonly<Record<string, unknown>>;
  /** The cluster's broker count, the upper bound of replicationFactor. */
  readonly brokerCount: number;
  readonly issues: IssueSink;
}

export const OVERRIDE_PREFIX = 'topics.';

/**
 * Resolves every catalog topic's settings for one environment, collecting every problem (each
 * naming its key) into `issues`. Returns undefined for topics whose settings could not be resolved.
 */
export function resolveTopics(input: ResolveTopicsInput): Partial<Record<TopicId, ResolvedTopic>> {
  const { envName, issues } = input;
  const layersByTopic = new Map<TopicId, Layer[]>(TOPIC_IDS.map((id) => [id, []]));

  // 1. environment defaults: an object with every setting.
  const defaultsKey = `environments.${envName}.topicDefaults`;
  const defaults = readSettingsObject(input.topicDefaults, defaultsKey, issues);
  for (const name of SETTING_NAMES) {
    if (defaults && !(name in defaults))
      issues.add(`${defaultsKey}.${name}`, `is required (${SETTING_DEFS[name].allowed})`);
  }
  // 2. design defaults per topic, 3. per-topic environment settings.
  const topicsKey = `environments.${envName}.topics`;
  const perTopic = isPlainObject(input.topics) ? input.topics : {};
  if (input.topics !== undefined && !isPlainObject(input.topics))
    issues.add(topicsKey, 'must be an object keyed by topic name');
  for (const topicKey of Object.keys(perTopic)) {
    if (!topicIdByName(topicKey))
      issues.add(`${topicsKey}.${topicKey}`, unknownTopicMessage(topicKey, closestTopicName(topicKey)));
  }
  for (const id of TOPIC_IDS) {
    const spec = TOPIC_SPECS[id] as { name: string; defaults?: Partial<TopicSettings> };
    const layers = layersByTopic.get(id)!;
    if (defaults) layers.push({ key: defaultsKey, values: defaults, explicit: false });
    if (spec.defaults)
      layers.push({ key: `topic-specs.ts(${spec.name})`, values: spec.defaults, explicit: false });
    const envTopic = readSettingsObject(perTopic[spec.name], `${topicsKey}.${spec.name}`, issues);
    if (envTopic) layers.push({ key: `${topicsKey}.${spec.name}`, values: envTopic, explicit: true });
  }
  // 4. command-line overrides: topics.<topic name>.<setting>.
  for (const [key, value] of Object.entries(input.context)) {
    if (!key.startsWith(OVERRIDE_PREFIX)) continue;
    const rest = key.slice(OVERRIDE_PREFIX.length);
    const dot = rest.lastIndexOf('.');
    const name = dot > 0 ? rest.slice(0, dot) : '';
    const setting = dot > 0 ? rest.slice(dot + 1) : '';
    const id = topicIdByName(name);
    if (!id) {
      if (topicIdByName(rest))
        issues.add(key, `expected ${key}.<setting>; settings: ${SETTING_NAMES.join(', ')}`);
      else if (dot > 0) issues.add(key, unknownTopicMessage(name, suggestion(key, rest)));
      else issues.add(key, `expected topics.<topic name>.<setting>${didYouMean(suggestion(key, rest))}`);
      continue;
    }
    if (!isSettingName(setting)) {
      issues.add(key, unknownSettingMessage(setting, suggestion(key, rest)));
      continue;
    }
    layersByTopic.get(id)!.push({ key, values: { [setting]: value }, explicit: true });
  }

  const resolved: Partial<Record<TopicId, ResolvedTopic>> = {};
  const deadLetterIds = TOPIC_IDS.filter((id) => deadLetterSources(id).length > 0);
  for (const id of TOPIC_IDS.filter((t) => !deadLetterIds.includes(t))) {
    const topic = resolveOne(id, layersByTopic.get(id)!, input.brokerCount, issues);
    if (topic) resolved[id] = topic;
  }
  for (const id of deadLetterIds) {
    const sources = deadLetterSources(id).map((s) => resolved[s]);
    // A source that did not resolve has its problem reported already.
    if (sources.some((s) => s === undefined)) continue;
    const topic = resolveDeadLetter(
      id,
      sources as ResolvedTopic[],
      layersByTopic.get(id)!,
      input.brokerCount,
      issues,
    );
    if (topic) resolved[id] = topic;
  }
  return resolved;
}

/**
 * A dead-letter topic: resolved like any topic, then its maxMessageBytes derived from its sources
 * unless set for the topic itself, and checked to exceed every source's by the headroom.
 */
function resolveDeadLetter(
  id: TopicId,
  sources: readonly ResolvedTopic[],
  layers: readonly Layer[],
  brokerCount: number,
  issues: IssueSink,
): ResolvedTopic | undefined {
  const largest = sources.reduce((a, b) => (b.settings.maxMessageBytes > a.settings.maxMessageBytes ? b : a));
  const name = TOPIC_SPECS[id].name;
  const required = largest.settings.maxMessageBytes + DEAD_LETTER_HEADROOM_BYTES;
  if (required > MAX_MESSAGE_BYTES) {
    issues.add(
      largest.sources.maxMessageBytes,
      `must be between ${formatSize(MIN_MESSAGE_BYTES)} and ${formatSize(MAX_MESSAGE_BYTES - DEAD_LETTER_HEADROOM_BYTES)}: ` +
        `its records are dead-lettered into ${name}, whose maxMessageBytes must exceed it by ` +
        `${formatSize(DEAD_LETTER_HEADROOM_BYTES)} and stay within ${formatSize(MAX_MESSAGE_BYTES)} (got ${formatSize(largest.settings.maxMessageBytes)})`,
    );
    return undefined;
  }
  const derivedKey = `${largest.sources.maxMessageBytes} + ${formatSize(DEAD_LETTER_HEADROOM_BYTES)} dead-letter headroom`;
  const topic = resolveOne(id, layers, brokerCount, issues, {
    maxMessageBytes: { value: required, key: derivedKey },
  });
  if (!topic) return undefined;
  if (topic.settings.maxMessageBytes < required) {
    issues.add(
      topic.sources.maxMessageBytes,
      `must be between ${formatSize(required)} and ${formatSize(MAX_MESSAGE_BYTES)}: larger than the ` +
        `${formatSize(largest.settings.maxMessageBytes)} of its source ${largest.name} (${largest.sources.maxMessageBytes}) ` +
        `by the ${formatSize(DEAD_LETTER_HEADROOM_BYTES)} dead-letter headroom (got ${formatSize(topic.settings.maxMessageBytes)})`,
    );
    return undefined;
  }
  return topic;
}

/** One layer of settings; `explicit` layers name the topic (per-topic cdk.json entry or `-c`). */
interface Layer {
  readonly key: string;
  readonly values: Partial<Record<SettingName, unknown>>;
  readonly explicit: boolean;
}

/** A value that replaces the layers' unless the topic sets it itself (an explicit layer). */
type Derived = Partial<Record<SettingName, { readonly value: number; readonly key: string }>>;

function resolveOne(
  id: TopicId,
  layers: readonly Layer[],
  brokerCount: number,
  issues: IssueSink,
  derived: Derived = {},
): ResolvedTopic | undefined {
  const values: Partial<Record<SettingName, unknown>> = {};
  const sources: Partial<Record<SettingName, string>> = {};
  const explicit = new Set<SettingName>();
  for (const layer of layers) {
    for (const [name, raw] of Object.entries(layer.values) as [SettingName, unknown][]) {
      const parsed = SETTING_DEFS[name].parse(raw);
      const key = layer.key.startsWith(OVERRIDE_PREFIX) ? layer.key : `${layer.key}.${name}`;
      if (!parsed.ok) {
        issues.add(key, `${parsed.message}; allowed: ${SETTING_DEFS[name].allowed}`);
        continue;
      }
      values[name] = parsed.value;
      sources[name] = key;
      if (layer.explicit) explicit.add(name);
      else explicit.delete(name);
    }
  }
  for (const [name, d] of Object.entries(derived) as [SettingName, { value: number; key: string }][]) {
    if (explicit.has(name) || values[name] === undefined) continue;
    values[name] = d.value;
    sources[name] = d.key;
  }
  if (SETTING_NAMES.some((n) => values[n] === undefined)) return undefined;
  const settings = values as unknown as TopicSettings;
  const src = sources as Record<SettingName, string>;
  let ok = true;
  if (settings.replicationFactor > brokerCount) {
    issues.add(
      src.replicationFactor,
      `must be between 1 and the broker count ${brokerCount} (got ${settings.replicationFactor})`,
    );
    ok = false;
  }
  if (settings.minInsyncReplicas > settings.replicationFactor) {
    issues.add(
      src.minInsyncReplicas,
      `must be between 1 and replicationFactor ${settings.replicationFactor} (got ${settings.minInsyncReplicas})`,
    );
    ok = false;
  }
  const deletes = settings.cleanupPolicy.includes('delete');
  const compacts = settings.cleanupPolicy.includes('compact');
  for (const name of ['retention', 'retentionBytes'] as const) {
    if (!deletes && explicit.has(name)) {
      issues.add(
        src[name],
        `has no effect with cleanupPolicy=${settings.cleanupPolicy}; remove it or use compact,delete`,
      );
      ok = false;
    }
  }
  if (!compacts && explicit.has('deleteRetention')) {
    issues.add(src.deleteRetention, `has no effect with cleanupPolicy=${settings.cleanupPolicy}`);
    ok = false;
  }
  return ok ? { id, name: TOPIC_SPECS[id].name, settings, sources: src } : undefined;
}

/**
 * The Kafka topic configs a topic is created with: string values, keys sorted, only the ones its
 * cleanup policy uses. This is what `AWS::MSK::Topic` Configs carries (base64 of this JSON) and what
 * the engine tests create on the real broker.
 */
export function kafkaTopicConfigs(settings: TopicSettings): Record<string, string> {
  const deletes = settings.cleanupPolicy.includes('delete');
  const compacts = settings.cleanupPolicy.includes('compact');
  const configs: Record<string, string> = {};
  for (const name of SETTING_NAMES) {
    const kafkaName = SETTING_DEFS[name].kafka;
    if (!kafkaName) continue;
    if ((name === 'retention' || name === 'retentionBytes') && !deletes) continue;
    if (name === 'deleteRetention' && !compacts) continue;
    configs[kafkaName] = String(settings[name]);
  }
  return Object.fromEntries(Object.entries(configs).sort(([a], [b]) => a.localeCompare(b)));
}

/** `AWS::MSK::Topic` Configs: base64 of the JSON object of {@link kafkaTopicConfigs}. */
export function encodeTopicConfigs(configs: Record<string, string>): string {
  return Buffer.from(JSON.stringify(configs), 'utf8').toString('base64');
}

/** The inverse of {@link encodeTopicConfigs}. */
export function decodeTopicConfigs(encoded: string): Record<string, string> {
  const parsed: unknown = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  if (!isPlainObject(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
    throw new Error('topic Configs must be base64 of a JSON object with string values');
  }
  return parsed as Record<string, string>;
}

function readSettingsObject(
  raw: unknown,
  key: string,
  issues: IssueSink,
): Partial<Record<SettingName, unknown>> | undefined {
  if (raw === undefined) return undefined;
  if (!isPlainObject(raw)) {
    issues.add(key, 'must be an object of topic settings');
    return undefined;
  }
  const out: Partial<Record<SettingName, unknown>> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (isSettingName(name)) out[name] = value;
    else issues.add(`${key}.${name}`, unknownSettingMessage(name, closestName(name, SETTING_NAMES)));
  }
  return out;
}

function unknownTopicMessage(name: string, suggested: string | undefined): string {
  return `unknown topic "${name}"${didYouMean(suggested)}; known topics: ${TOPIC_IDS.map((id) => TOPIC_SPECS[id].name).join(', ')}`;
}

function unknownSettingMessage(name: string, suggested: string | undefined): string {
  return `unknown setting "${name}"${didYouMean(suggested)}; allowed settings: ${SETTING_NAMES.join(', ')}`;
}

function didYouMean(suggested: string | undefined): string {
  return suggested ? ` (did you mean ${suggested}?)` : '';
}

/** The full override key `rest` (after `topics.`) most likely meant, unless that is `key` itself. */
function suggestion(key: string, rest: string): string | undefined {
  const suggested = suggestTopicOverride(rest);
  return suggested === key ? undefined : suggested;
}

function closestTopicName(name: string): string | undefined {
  return closestName(
    name,
    TOPIC_IDS.map((id) => TOPIC_SPECS[id].name),
  );
}

/**
 * The override `topics.<topic>.<setting>` that `rest` (what follows `topics.` or a misspelling of
 * it) most likely meant: topic and setting each replaced by the catalog name it is a near miss of.
 * `telemetry.raw.partition` gives `topics.telemetry.raw.partitions`; `telemetry.raw` gives
 * `topics.telemetry.raw.<setting>`.
 */
export function suggestTopicOverride(rest: string): string {
  const topic = (candidate: string) => (topicIdByName(candidate) ? candidate : closestTopicName(candidate));
  const whole = topic(rest);
  if (whole) return `${OVERRIDE_PREFIX}${whole}.<setting>`;
  const dot = rest.lastIndexOf('.');
  const name = dot > 0 ? rest.slice(0, dot) : rest;
  const setting = dot > 0 ? rest.slice(dot + 1) : '';
  const matchedTopic = topic(name) ?? name;
  const matchedSetting = isSettingName(setting)
    ? setting
    : (closestName(setting, SETTING_NAMES) ?? (setting || '<setting>'));
  return `${OVERRIDE_PREFIX}${matchedTopic}.${matchedSetting}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
