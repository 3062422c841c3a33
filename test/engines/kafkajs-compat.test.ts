/**
 * kafkajs 2.2.4 (what the Lambdas and tools use) against Apache Kafka 3.9, the line MSK 3.9.x runs:
 * - API versions: the broker's own ApiVersions answer (read over a socket, not through kafkajs) is
 *   the reference for MSK 3.9.x; for every API the platform calls, the version kafkajs picks (its
 *   highest implemented version capped at the broker's maximum; kafkajs never checks the broker's
 *   minimum, so a broker that dropped old versions would refuse it) lies in the broker's range, and
 *   the versions kafkajs really sent during these tests are exactly those;
 * - produce with an idempotent producer, consume with a group and manual commits, and the admin calls
 *   the platform relies on.
 * The outcome is recorded in the README ("Engines").
 */
import { ConfigResourceTypes, type Admin } from 'kafkajs';
import {
  bootstrap,
  brokerApiVersions,
  deleteTopicsAndWait,
  kafkaClient,
  type ApiVersionRange,
} from './harness/clients';

const TOPIC = 'probe.kafkajs-compat';
const GROUP = 'probe-kafkajs-compat';
let admin: Admin;

/** kafkajs' request table: API key and implemented versions by API name (its internal modules). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const requestsModule: unknown = require('kafkajs/src/protocol/requests');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const apiKeysModule: unknown = require('kafkajs/src/protocol/requests/apiKeys');
const kafkajsRequests = (requestsModule as { requests: Record<string, { versions: string[] }> }).requests;
const kafkajsApiKeys = apiKeysModule as Record<string, number>;

/**
 * The APIs the platform calls through kafkajs (kafkajs' names): connection and SASL (IAM on MSK),
 * the idempotent producer of the ingest function, the ACL function, group consumers (tools, engine
 * tests, the next consumers) and the admin calls of the harness and tools.
 */
const PLATFORM_APIS = [
  'ApiVersions',
  'SaslHandshake',
  'SaslAuthenticate',
  'Metadata',
  'InitProducerId',
  'Produce',
  'GroupCoordinator',
  'JoinGroup',
  'SyncGroup',
  'Heartbeat',
  'LeaveGroup',
  'OffsetFetch',
  'OffsetCommit',
  'ListOffsets',
  'Fetch',
  'CreateTopics',
  'DeleteTopics',
  'CreatePartitions',
  'DescribeConfigs',
  'ListGroups',
  'DescribeGroups',
  'DeleteGroups',
  'CreateAcls',
  'DescribeAcls',
  'DeleteAcls',
] as const;

/** Every (API, version) kafkajs sent in this file, from its REQUEST instrumentation events. */
const sent = new Map<string, Set<number>>();
function watch(instrumented: {
  on(event: string, listener: (e: { payload: { apiName: string; apiVersion: number } }) => void): unknown;
  events: { REQUEST: string };
}): void {
  instrumented.on(instrumented.events.REQUEST, ({ payload }) => {
    sent.set(payload.apiName, (sent.get(payload.apiName) ?? new Set()).add(payload.apiVersion));
  });
}

let broker: Map<number, ApiVersionRange>;

beforeAll(async () => {
  broker = await brokerApiVersions(bootstrap());
  admin = kafkaClient('compat-admin').admin();
  watch(admin as unknown as Parameters<typeof watch>[0]);
  await admin.connect();
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

/** The version kafkajs picks for an API against this broker, as kafkajs' lookup does it. */
function kafkajsVersion(api: string): number {
  const implemented = Math.max(...kafkajsRequests[api]!.versions.map(Number));
  const range = broker.get(kafkajsApiKeys[api]!);
  if (!range) throw new Error(`the broker does not serve ${api}`);
  return Math.min(implemented, range.max);
}

test('the broker advertises the Kafka 3.9 API version ranges (the reference for MSK 3.9.x)', () => {
  const ranges = Object.fromEntries(
    PLATFORM_APIS.map((api) => {
      const range = broker.get(kafkajsApiKeys[api]!);
      return [api, range ? `${range.min}-${range.max}` : 'absent'];
    }),
  );
  expect(ranges).toEqual({
    ApiVersions: '0-4',
    SaslHandshake: '0-1',
    SaslAuthenticate: '0-2',
    Metadata: '0-12',
    InitProducerId: '0-5',
    Produce: '0-11',
    GroupCoordinator: '0-6',
    JoinGroup: '0-9',
    SyncGroup: '0-5',
    Heartbeat: '0-4',
    LeaveGroup: '0-5',
    OffsetFetch: '0-9',
    OffsetCommit: '0-9',
    ListOffsets: '0-9',
    Fetch: '0-17',
    CreateTopics: '0-7',
    DeleteTopics: '0-6',
    CreatePartitions: '0-3',
    DescribeConfigs: '0-4',
    ListGroups: '0-5',
    DescribeGroups: '0-5',
    DeleteGroups: '0-2',
    CreateAcls: '0-3',
    DescribeAcls: '0-3',
    DeleteAcls: '0-3',
  });
});

test('for every API the platform calls, kafkajs picks a version the broker serves', () => {
  const picked = Object.fromEntries(PLATFORM_APIS.map((api) => [api, kafkajsVersion(api)]));
  for (const api of PLATFORM_APIS) {
    const range = broker.get(kafkajsApiKeys[api]!)!;
    expect({
      api,
      version: picked[api],
      inRange: picked[api]! >= range.min && picked[api]! <= range.max,
    }).toEqual({
      api,
      version: picked[api],
      inRange: true,
    });
  }
  // kafkajs' highest implemented versions: all below the broker's maximum, none below its minimum.
  expect(picked).toEqual({
    ApiVersions: 2,
    SaslHandshake: 1,
    SaslAuthenticate: 1,
    Metadata: 6,
    InitProducerId: 1,
    Produce: 7,
    GroupCoordinator: 2,
    JoinGroup: 5,
    SyncGroup: 3,
    Heartbeat: 3,
    LeaveGroup: 3,
    OffsetFetch: 4,
    OffsetCommit: 5,
    ListOffsets: 3,
    Fetch: 11,
    CreateTopics: 3,
    DeleteTopics: 1,
    CreatePartitions: 1,
    DescribeConfigs: 2,
    ListGroups: 2,
    DescribeGroups: 2,
    DeleteGroups: 1,
    CreateAcls: 1,
    DescribeAcls: 1,
    DeleteAcls: 1,
  });
});

test('an idempotent producer writes keyed records, a group consumes all of them in order per key', async () => {
  const producer = kafkaClient('compat-producer').producer({ idempotent: true, maxInFlightRequests: 1 });
  watch(producer as unknown as Parameters<typeof watch>[0]);
  await producer.connect();
  const keys = ['user-1', 'user-2', 'user-3', 'user-4'];
  const messages = Array.from({ length: 200 }, (_, i) => ({
    key: keys[i % keys.length]!,
    value: JSON.stringify({ seq: i }),
  }));
  await producer.send({ topic: TOPIC, acks: -1, messages });
  await producer.disconnect();

  const consumer = kafkaClient('compat-consumer').consumer({ groupId: GROUP });
  watch(consumer as unknown as Parameters<typeof watch>[0]);
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
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configNames: ['cleanup.policy'] }],
  });
  expect(configs.resources[0]!.configEntries.map((e) => [e.configName, e.configValue])).toEqual([
    ['cleanup.policy', 'delete'],
  ]);
  expect(await admin.deleteGroups([GROUP])).toEqual([{ groupId: GROUP, errorCode: 0 }]);
  await deleteTopicsAndWait(admin, [TOPIC]);
});

test('the requests kafkajs sent in these tests used exactly the versions picked above', () => {
  const used = Object.fromEntries([...sent].map(([api, versions]) => [api, [...versions].sort()]));
  // Every API sent is one the platform calls, with the one version kafkajs picks for it.
  for (const [api, versions] of Object.entries(used)) {
    expect({ api, known: (PLATFORM_APIS as readonly string[]).includes(api), versions }).toEqual({
      api,
      known: true,
      versions: [kafkajsVersion(api)],
    });
  }
  // What these tests exercised (SASL and ACLs are exercised by kafka-acls.test.ts, on its own broker).
  // (Heartbeat is sent only when a consumer runs longer than its heartbeat interval: timing, not asserted.)
  expect(
    Object.keys(used)
      .filter((api) => api !== 'Heartbeat')
      .sort(),
  ).toEqual([
    'ApiVersions',
    'CreatePartitions',
    'CreateTopics',
    'DeleteGroups',
    'DeleteTopics',
    'DescribeConfigs',
    'DescribeGroups',
    'Fetch',
    'GroupCoordinator',
    'InitProducerId',
    'JoinGroup',
    'LeaveGroup',
    'ListGroups',
    'ListOffsets',
    'Metadata',
    'OffsetCommit',
    'OffsetFetch',
    'Produce',
    'SyncGroup',
  ]);
});
