import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { TemplateTopic } from '../../support/templates';

/** The broker started by global-setup.ts. */
export function bootstrap(): string {
  const address = process.env.KAFKA_BOOTSTRAP;
  if (!address)
    throw new Error('KAFKA_BOOTSTRAP is not set: run engine tests through jest --selectProjects engines');
  return address;
}

export function kafkaClient(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: [bootstrap()], logLevel: logLevel.NOTHING });
}

export async function connectAdmin(): Promise<Admin> {
  const admin = kafkaClient('engine-tests-admin').admin();
  await admin.connect();
  return admin;
}

/** Runs a kafkajs call expected to fail and returns the Kafka error type(s) it failed with. */
export async function kafkaErrorOf(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (err) {
    const e = err as { type?: string; errors?: { type?: string }[]; message: string };
    const types = (e.errors ?? []).map((x) => x.type).filter(Boolean);
    return types.length > 0 ? types.join(',') : (e.type ?? e.message);
  }
  throw new Error('expected the broker to reject the call');
}

/** Deletes topics and waits until the broker no longer lists them. */
export async function deleteTopicsAndWait(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const toDelete = topics.filter((t) => existing.has(t));
  if (toDelete.length === 0) return;
  await admin.deleteTopics({ topics: toDelete, timeout: timeoutMs });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const left = (await admin.listTopics()).filter((t) => toDelete.includes(t));
    if (left.length === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`topics not deleted within ${timeoutMs} ms: ${toDelete.join(', ')}`);
}

/**
 * Creates topics exactly as their `AWS::MSK::Topic` resources describe them: name, partitions and
 * the decoded Configs. Replication factor 1: the local broker is a single node.
 */
export async function createTemplateTopics(admin: Admin, topics: readonly TemplateTopic[]): Promise<boolean> {
  return admin.createTopics({
    waitForLeaders: true,
    topics: topics.map((t) => ({
      topic: t.name,
      numPartitions: t.partitions,
      replicationFactor: 1,
      configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
    })),
  });
}

export interface ConsumedRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string>;
}

/**
 * Reads a topic from the beginning with a fresh consumer group until `count` records arrived (or
 * `timeoutMs` passed), then waits `settleMs` more to catch records beyond the expected count.
 */
export async function consumeRecords(
  topic: string,
  count: number,
  options: { timeoutMs?: number; settleMs?: number } = {},
): Promise<ConsumedRecord[]> {
  const consumer = kafkaClient('engine-tests-reader').consumer({
    groupId: `reader-${Date.now()}-${Math.random()}`,
  });
  const records: ConsumedRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done: () => void = () => undefined;
    const reached = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        records.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        });
        if (records.length >= count) done();
        return Promise.resolve();
      },
    });
    await Promise.race([reached, new Promise((r) => setTimeout(r, options.timeoutMs ?? 30_000))]);
    await new Promise((r) => setTimeout(r, options.settleMs ?? 500));
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** The sum of a topic's end offsets: how many records it holds (no compaction, no retention yet). */
export async function topicSize(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}
