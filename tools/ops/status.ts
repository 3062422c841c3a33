/**
 * `status`: the cluster, the consumers (every event source mapping of the environment with its
 * state and its lag per topic), the MSK Connect connectors and the Managed Flink application.
 * The consumers are those of the catalog (`CONSUMER_SOURCES`, groups from `consumerGroupId`); lag is
 * computed on the brokers with kafkajs admin: the topic's end offsets minus the group's committed
 * offsets, summed over partitions (a partition without a committed offset counts what it retains).
 */
import type { Admin } from 'kafkajs';
import { CONSUMER_SOURCES, MSK_CONSUMERS } from '../../lib/config/platform-config';
import { consumerGroupId } from '../../lib/events/consumer-groups';
import { topicName } from '../../lib/topics/topic-specs';
import type { ClusterInfo, ConnectorInfo, EventSourceMappingInfo, FlinkApplicationInfo } from './aws';

export interface GroupLag {
  /** Records behind: end offsets minus committed offsets, over the topic's partitions. */
  readonly lag: bigint;
  /** Partitions the group has committed nothing on (their retained records count as lag). */
  readonly uncommittedPartitions: number;
  readonly partitions: number;
}

/** The lag of a consumer group on one topic, from the broker. */
export async function groupLag(admin: Admin, groupId: string, topic: string): Promise<GroupLag> {
  const watermarks = await admin.fetchTopicOffsets(topic);
  const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committed = new Map((fetched?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  let lag = 0n;
  let uncommittedPartitions = 0;
  for (const w of watermarks) {
    const c = committed.get(w.partition) ?? -1n;
    const high = BigInt(w.high);
    if (c < 0n) {
      uncommittedPartitions++;
      lag += high - BigInt(w.low);
    } else lag += high > c ? high - c : 0n;
  }
  return { lag, uncommittedPartitions, partitions: watermarks.length };
}

export interface ConsumerRow {
  readonly consumer: string;
  readonly topic: string;
  readonly groupId: string;
  /** The mapping's state; `MISSING` when AWS has no mapping for it, undefined when AWS was not asked. */
  readonly state?: string;
  readonly functionArn?: string;
  readonly lag: GroupLag;
}

export interface StatusReport {
  readonly envName: string;
  readonly platformName: string;
  readonly region?: string;
  /** Undefined when AWS was not asked (`--bootstrap` without a region: the local engines). */
  readonly aws?: {
    readonly cluster: ClusterInfo;
    readonly connectors: readonly ConnectorInfo[];
    readonly flink: readonly FlinkApplicationInfo[];
  };
  readonly kafka: string;
  readonly consumers: readonly ConsumerRow[];
}

/** The consumers of the catalog and the mappings AWS lists, matched by topic and group, with lag. */
export async function consumerRows(
  admin: Admin,
  mappings: readonly EventSourceMappingInfo[] | undefined,
): Promise<ConsumerRow[]> {
  const rows: ConsumerRow[] = [];
  const matched = new Set<EventSourceMappingInfo>();
  for (const consumer of MSK_CONSUMERS) {
    for (const source of CONSUMER_SOURCES[consumer]) {
      const topic = topicName(source);
      const groupId = consumerGroupId(consumer, source);
      const mapping = mappings?.find((m) => m.topics.includes(topic) && m.consumerGroupId === groupId);
      if (mapping) matched.add(mapping);
      rows.push({
        consumer,
        topic,
        groupId,
        ...(mappings ? { state: mapping?.state ?? 'MISSING' } : {}),
        ...(mapping ? { functionArn: mapping.functionArn } : {}),
        lag: await groupLag(admin, groupId, topic),
      });
    }
  }
  // Mappings on the cluster that the catalog does not describe (another group, another topic).
  for (const m of mappings ?? []) {
    if (matched.has(m)) continue;
    const groupId = m.consumerGroupId ?? m.uuid;
    for (const topic of m.topics)
      rows.push({
        consumer: '(not in the catalog)',
        topic,
        groupId,
        state: m.state,
        functionArn: m.functionArn,
        lag: await groupLag(admin, groupId, topic),
      });
  }
  return rows;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` -> `<name>`. */
function functionName(arn: string | undefined): string {
  if (!arn) return '-';
  const parts = arn.split(':');
  const at = parts.indexOf('function');
  return at >= 0 && parts[at + 1] ? parts[at + 1]! : arn;
}

function lagText(l: GroupLag): string {
  return l.uncommittedPartitions === 0
    ? String(l.lag)
    : `${l.lag} (${l.uncommittedPartitions} of ${l.partitions} partitions without a committed offset)`;
}

/** The printed report, line by line. */
export function renderStatus(report: StatusReport): string[] {
  const lines = [
    `status ${report.envName} (platform ${report.platformName}${report.region ? `, region ${report.region}` : ''})`,
  ];
  const aws = report.aws;
  if (aws) {
    const c = aws.cluster;
    lines.push(`cluster ${c.name}: ${c.state}, Kafka ${c.kafkaVersion}, ${c.brokerCount} brokers`);
    lines.push(`  arn ${c.arn}`);
    for (const b of c.brokers) lines.push(`  broker ${b.id}: ${b.endpoints.join(', ')}`);
    lines.push(`  bootstrap IAM:   ${c.bootstrapIam ?? '(none)'}`);
    lines.push(`  bootstrap SCRAM: ${c.bootstrapScram ?? '(none)'}`);
  } else lines.push('cluster: not asked (--bootstrap without a region: local engines)');
  lines.push(`kafka: ${report.kafka}`);
  lines.push('consumers (lag = end offsets - committed offsets of the group, per topic)');
  const header = ['consumer', 'topic', 'group', ...(aws ? ['mapping', 'function'] : []), 'lag'];
  const body = report.consumers.map((r) => [
    r.consumer,
    r.topic,
    r.groupId,
    ...(aws ? [r.state ?? '', functionName(r.functionArn)] : []),
    lagText(r.lag),
  ]);
  lines.push(...table([header, ...body]).map((l) => `  ${l}`));
  if (aws) {
    lines.push('connectors');
    if (aws.connectors.length === 0) lines.push('  (none)');
    else
      lines.push(
        ...table(aws.connectors.map((c) => [c.name, c.state, c.workers, c.stateDescription ?? ''])).map(
          (l) => `  ${l}`,
        ),
      );
    lines.push('flink applications');
    if (aws.flink.length === 0) lines.push('  (none)');
    else
      lines.push(
        ...table(aws.flink.map((a) => [a.name, a.status, `version ${a.versionId}`, a.runtime])).map(
          (l) => `  ${l}`,
        ),
      );
  } else lines.push('connectors, flink applications: not asked');
  return lines;
}
