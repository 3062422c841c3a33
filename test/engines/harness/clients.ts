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
