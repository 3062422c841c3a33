import { Socket } from 'node:net';
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Kafka,
  logLevel,
  ResourcePatternTypes,
  type Admin,
  type IHeaders,
} from 'kafkajs';
import type { KafkaAcl } from '../../../lib/kafka/acl-model';
import { readTopic } from '../../../tools/read-topic';
import type { TemplateTopic } from '../../support/templates';

/** The broker started by global-setup.ts. */
export function bootstrap(): string {
  const address = process.env.KAFKA_BOOTSTRAP;
  if (!address)
    throw new Error('KAFKA_BOOTSTRAP is not set: run engine tests through jest --selectProjects engines');
  return address;
}

/** A kafkajs client, by default for the broker of global-setup.ts. */
export function kafkaClient(clientId: string, brokers: readonly string[] = [bootstrap()]): Kafka {
  return new Kafka({ clientId, brokers: [...brokers], logLevel: logLevel.NOTHING });
}

/**
 * A SASL/SCRAM-SHA-512 client (what the IoT Core Kafka action is) on a SASL_PLAINTEXT listener.
 * No retries: an authorization failure is final, and a test wants it at once.
 */
export function scramClient(options: {
  readonly brokers: string;
  readonly username: string;
  readonly password: string;
  readonly clientId?: string;
}): Kafka {
  return new Kafka({
    clientId: options.clientId ?? 'engine-tests-scram',
    brokers: [options.brokers],
    sasl: { mechanism: 'scram-sha-512', username: options.username, password: options.password },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0, initialRetryTime: 100 },
  });
}

/** Produces one record (acks all, no topic auto-creation) with a short-lived producer. */
export async function produceOne(
  kafka: Kafka,
  topic: string,
  message: { key: string | null; value: string | null; headers?: IHeaders } = { key: 'k', value: 'v' },
): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [message] });
  } finally {
    await producer.disconnect();
  }
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

/** kafkajs wraps the broker's error; walks the causes (`originalError`, `cause`) into one line. */
export function errorChain(error: unknown): string {
  type Wrapped = { name?: string; message?: string; type?: string; originalError?: unknown; cause?: unknown };
  const parts: string[] = [];
  for (let e = error as Wrapped | undefined; e; e = (e.originalError ?? e.cause) as Wrapped | undefined) {
    parts.push(`${e.name}: ${e.type ?? ''} ${e.message}`);
  }
  return parts.join(' <- ');
}

/** The name of a kafkajs enum value (`AclOperationTypes` 4 -> 'WRITE'). */
function enumName(values: object, code: number): string {
  const name = Object.entries(values as Record<string, unknown>).find(([, v]) => v === code)?.[0];
  if (!name) throw new Error(`unknown code ${code}`);
  return name;
}

/**
 * Every ACL on the broker, whatever its resource type, pattern, principal, host, operation or
 * permission (DescribeAcls with ANY everywhere and no name), in the platform's ACL shape, sorted.
 */
export async function listAllAcls(admin: Admin): Promise<KafkaAcl[]> {
  const described = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  });
  return described.resources
    .flatMap((r) =>
      r.acls.map(
        (a) =>
          ({
            resourceType: enumName(AclResourceTypes, r.resourceType),
            resourceName: r.resourceName,
            patternType: enumName(ResourcePatternTypes, r.resourcePatternType),
            principal: a.principal,
            host: a.host,
            operation: enumName(AclOperationTypes, a.operation),
            permission: enumName(AclPermissionTypes, a.permissionType),
          }) as KafkaAcl,
      ),
    )
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/**
 * Every ACL on the broker once it stopped changing (the same in reads 300 ms apart, for 1.5 s): an
 * ACL change is committed by the controller and reaches the broker's authorizer a moment later.
 */
export async function settledAcls(admin: Admin, timeoutMs = 15_000): Promise<KafkaAcl[]> {
  const deadline = Date.now() + timeoutMs;
  let last = JSON.stringify(await listAllAcls(admin));
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    const now = JSON.stringify(await listAllAcls(admin));
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= 1_500) {
      return JSON.parse(last) as KafkaAcl[];
    }
  }
  throw new Error(`the broker's ACLs did not settle within ${timeoutMs} ms`);
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
  const created = await admin.createTopics({
    waitForLeaders: false,
    topics: topics.map((t) => ({
      topic: t.name,
      numPartitions: t.partitions,
      replicationFactor: 1,
      configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
    })),
  });
  await waitForLeaders(
    admin,
    topics.map((t) => t.name),
  );
  return created;
}

/**
 * Waits until every partition of the topics has a leader. (kafkajs' own `waitForLeaders` gives up
 * on the UNKNOWN_TOPIC_OR_PARTITION a broker may answer while many new topics are being set up.)
 */
export async function waitForLeaders(
  admin: Admin,
  topics: readonly string[],
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const { topics: described } = await admin.fetchTopicMetadata({ topics: [...topics] });
      if (described.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
      last = 'partitions without a leader';
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`topics without leaders after ${timeoutMs} ms (${last}): ${topics.join(', ')}`);
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
 * `timeoutMs` passed), then waits `settleMs` more to catch records beyond the expected count. The
 * reader of `npm run topic:read` (tools/read-topic.ts), with the records as text.
 */
export async function consumeRecords(
  topic: string,
  count: number,
  options: { timeoutMs?: number; settleMs?: number } = {},
): Promise<ConsumedRecord[]> {
  const records = await readTopic({
    brokers: [bootstrap()],
    topic,
    fromBeginning: true,
    until: count,
    settleMs: options.settleMs ?? 500,
    timeoutMs: (options.timeoutMs ?? 30_000) + (options.settleMs ?? 500),
    clientId: 'engine-tests-reader',
  });
  return records.map((r) => ({
    partition: r.partition,
    offset: r.offset,
    key: r.key?.toString() ?? null,
    value: r.value?.toString() ?? null,
    headers: { ...r.headers },
  }));
}

/** The sum of a topic's end offsets: how many records it holds (no compaction, no retention yet). */
export async function topicSize(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

/** The version range a broker serves for one API key. */
export interface ApiVersionRange {
  readonly min: number;
  readonly max: number;
}

/**
 * The API versions a broker advertises (ApiVersions v0, the version every broker answers), by API
 * key, read over a plain socket rather than through kafkajs, so that the answer is the broker's own.
 */
export function brokerApiVersions(
  address: string,
  timeoutMs = 10_000,
): Promise<Map<number, ApiVersionRange>> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  const clientId = Buffer.from('engine-tests-api-versions');
  const header = Buffer.alloc(2 + 2 + 4 + 2);
  header.writeInt16BE(18, 0); // ApiVersions
  header.writeInt16BE(0, 2); // v0
  header.writeInt32BE(1, 4); // correlation id
  header.writeInt16BE(clientId.length, 8);
  const body = Buffer.concat([header, clientId]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let received = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no ApiVersions answer from ${address}`)));
    socket.once('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < 4 + received.readInt32BE(0)) return;
      socket.destroy();
      const errorCode = received.readInt16BE(8);
      if (errorCode !== 0) return reject(new Error(`ApiVersions error code ${errorCode}`));
      const count = received.readInt32BE(10);
      const versions = new Map<number, ApiVersionRange>();
      for (let i = 0, at = 14; i < count; i++, at += 6) {
        versions.set(received.readInt16BE(at), {
          min: received.readInt16BE(at + 2),
          max: received.readInt16BE(at + 4),
        });
      }
      resolve(versions);
    });
    socket.connect(port, host, () => socket.write(Buffer.concat([size, body])));
  });
}
