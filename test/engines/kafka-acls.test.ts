/**
 * The SCRAM user's ACLs on a real Kafka 3.9 broker with the StandardAuthorizer and MSK's
 * `allow.everyone.if.no.acl.found=false`. The ACL function itself (lambda/kafka-acls, its handler)
 * applies the ACL list that the dev template's `Custom::KafkaAcls` carries; then
 * - the broker holds exactly the hand-written expected set: every ACL of every resource type,
 *   pattern, principal, host, operation and permission (DescribeAcls filtered by nothing);
 * - a SCRAM-SHA-512 client (as the IoT Core Kafka action is) may write telemetry.raw, and is denied
 *   everything else: reading it, writing every other catalog topic and the topics that share its
 *   name's prefix, topic administration, configs, groups, cluster operations and transactional ids.
 * The admin connects over PLAINTEXT as a super user (`super.users=User:ANONYMOUS`, so it has no ACLs
 * of its own), standing in for the IAM-authenticated function on MSK (IAM cannot run here).
 */
import { randomBytes } from 'node:crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  ConfigResourceTypes,
  ResourcePatternTypes,
  type Admin,
  type Kafka,
} from 'kafkajs';
import type { KafkaAcl } from '../../lib/kafka/acl-model';
import { IOT_BRIDGE_SCRAM_USER } from '../../lib/kafka/msk-cluster';
import { handler } from '../../lambda/kafka-acls';
import { synthEnvironment } from '../support/synth';
import { templateTopics } from '../support/templates';
import {
  createTemplateTopics,
  errorChain,
  kafkaErrorOf,
  listAllAcls,
  settledAcls,
  produceOne,
  scramClient,
  topicSize,
} from './harness/clients';
import { LocalKafka } from './harness/kafka';

const password = randomBytes(18).toString('base64url');
const TELEMETRY = 'telemetry.raw';
/** Topics that are not in the catalog but share the prefix of the user's own topic. */
const LOOK_ALIKES = ['telemetry.raw2', 'telemetry.raw-x', 'telemetry.raw.v2'];
const PROBE_GROUP = 'acl-probe-reader';

/** The whole ACL set the broker must hold once the function ran: written by hand. */
const EXPECTED_ACLS: KafkaAcl[] = [
  {
    resourceType: 'TOPIC',
    resourceName: 'telemetry.raw',
    patternType: 'LITERAL',
    principal: 'User:iot-bridge',
    host: '*',
    operation: 'DESCRIBE',
    permission: 'ALLOW',
  },
  {
    resourceType: 'TOPIC',
    resourceName: 'telemetry.raw',
    patternType: 'LITERAL',
    principal: 'User:iot-bridge',
    host: '*',
    operation: 'WRITE',
    permission: 'ALLOW',
  },
];

let kafka: LocalKafka;
let admin: Admin;
let bridge: Kafka;
let catalog: string[];
let aclsJson: string;

/** Runs the ACL function's handler against the local broker (PLAINTEXT admin, see above). */
async function runFunction(
  requestType: 'Create' | 'Update' | 'Delete',
  acls: string = aclsJson,
  oldAcls?: string,
): Promise<{ PhysicalResourceId: string }> {
  const base = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:provider',
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/streaming-dev-sources/1',
    RequestId: `request-${requestType}`,
    LogicalResourceId: 'IotBridgeAcls',
    ResourceType: 'Custom::KafkaAcls',
    ResourceProperties: { ServiceToken: 'provider', Acls: acls },
  };
  const event: CloudFormationCustomResourceEvent =
    requestType === 'Create'
      ? { ...base, RequestType: 'Create' }
      : requestType === 'Update'
        ? {
            ...base,
            RequestType: 'Update',
            PhysicalResourceId: 'kafka-acls-test',
            OldResourceProperties: { ServiceToken: 'provider', Acls: oldAcls ?? '[]' },
          }
        : { ...base, RequestType: 'Delete', PhysicalResourceId: 'kafka-acls-test' };
  const env = { ...process.env };
  process.env.BOOTSTRAP_BROKERS = kafka.bootstrap;
  process.env.KAFKA_AUTH = 'none';
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    const result = await handler(event);
    // The controller committed the change; the broker's authorizer applies it a moment later.
    await settledAcls(admin);
    return result;
  } finally {
    log.mockRestore();
    process.env = env;
  }
}

/**
 * What became of a call of the bridge user: `refused` when it threw, with the authorizer's denials
 * the broker logged meanwhile (`<operation> <resource type>:<pattern>:<name>`, sorted, unique), or
 * `done` when it went through.
 */
async function outcomeOf(call: () => Promise<unknown>): Promise<string> {
  const mark = kafka.logMark();
  let result = 'done';
  try {
    await call();
  } catch (err) {
    result = 'refused';
    if (process.env.DEBUG_ACL_PROBES) console.error(errorChain(err));
  }
  await new Promise((r) => setTimeout(r, 100)); // let the broker's log appender flush
  const pattern = new RegExp(
    `Principal = User:${IOT_BRIDGE_SCRAM_USER} is Denied operation = (\\S+) from host = \\S+ on resource = (\\S+)`,
    'g',
  );
  const denials = [
    ...new Set([...kafka.logSince(mark).matchAll(pattern)].map((m) => `${m[1]} ${m[2]}`)),
  ].sort();
  return [result, ...denials].join('; ');
}

/** The promise's value, or `fallback` after `ms` (the timer does not outlive the race). */
async function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<T>((r) => (timer = setTimeout(() => r(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

beforeAll(async () => {
  kafka = await LocalKafka.start({ scramUsers: [{ name: IOT_BRIDGE_SCRAM_USER, password }] });
  admin = kafka.admin();
  await admin.connect();
  const { streaming, sources } = synthEnvironment('dev');
  const topics = templateTopics(streaming);
  catalog = topics.map((t) => t.name).sort();
  expect(catalog).toContain(TELEMETRY);
  await createTemplateTopics(admin, [
    ...topics,
    ...LOOK_ALIKES.map((name) => ({ name, partitions: 1, replicationFactor: 1, configs: {} })),
  ]);
  const resources = Object.values(sources.findResources('Custom::KafkaAcls')) as {
    Properties: { Acls: string };
  }[];
  expect(resources).toHaveLength(1);
  aclsJson = resources[0]!.Properties.Acls;
  bridge = scramClient({ brokers: kafka.saslBootstrap!, username: IOT_BRIDGE_SCRAM_USER, password });
});

afterAll(async () => {
  await admin?.disconnect();
  await kafka?.stop();
});

test('without ACLs the SCRAM user can do nothing, and the broker holds no ACL at all', async () => {
  expect(await listAllAcls(admin)).toEqual([]);
  expect(await outcomeOf(() => produceOne(bridge, TELEMETRY))).toBe(
    'refused; DESCRIBE Topic:LITERAL:telemetry.raw',
  );
});

test('a wrong password is refused', async () => {
  const producer = scramClient({
    brokers: kafka.saslBootstrap!,
    username: IOT_BRIDGE_SCRAM_USER,
    password: 'wrong',
  }).producer();
  expect(await kafkaErrorOf(() => producer.connect())).toMatch(/SASL|authentication/i);
});

describe('after the ACL function applied the template ACLs', () => {
  beforeAll(async () => {
    expect(await runFunction('Create')).toEqual({
      PhysicalResourceId: expect.stringMatching(/^kafka-acls-/),
    });
  });

  test('the broker holds exactly the expected ACLs, nothing else', async () => {
    expect(await listAllAcls(admin)).toEqual(EXPECTED_ACLS);
  });

  test('a replayed Create changes nothing', async () => {
    await runFunction('Create');
    expect(await listAllAcls(admin)).toEqual(EXPECTED_ACLS);
  });

  test('the user writes telemetry.raw, and sees no other topic', async () => {
    await produceOne(bridge, TELEMETRY, { key: 'dev-1', value: '{"temperature":21}' });
    expect(await topicSize(admin, TELEMETRY)).toBe(1);
    const userAdmin = bridge.admin();
    await userAdmin.connect();
    try {
      // Metadata for all topics lists only the topics the user may DESCRIBE.
      expect(await userAdmin.listTopics()).toEqual([TELEMETRY]);
    } finally {
      await userAdmin.disconnect();
    }
  });

  test('writing any other catalog topic, or a topic that shares the prefix of its own, is denied', async () => {
    const targets = [...catalog.filter((t) => t !== TELEMETRY), ...LOOK_ALIKES];
    expect(targets.length).toBeGreaterThanOrEqual(14);
    const outcomes: Record<string, string> = {};
    for (const topic of targets) outcomes[topic] = await outcomeOf(() => produceOne(bridge, topic));
    expect(outcomes).toEqual(
      Object.fromEntries(targets.map((t) => [t, `refused; DESCRIBE Topic:LITERAL:${t}`])),
    );
    for (const topic of targets) expect(await topicSize(admin, topic)).toBe(0);
  });

  test('topic administration, configs, record deletion, groups, ACLs and cluster operations are denied', async () => {
    // A group of another principal, for the group probes.
    const owner = kafka.client('group-owner').consumer({ groupId: 'platform-enrich' });
    await owner.connect();
    await owner.subscribe({ topic: TELEMETRY, fromBeginning: true });
    await owner.run({ eachMessage: () => Promise.resolve() });
    await new Promise((r) => setTimeout(r, 2_000));
    await owner.disconnect();

    const userAdmin = bridge.admin();
    await userAdmin.connect();
    const grantAll = {
      resourceType: AclResourceTypes.TOPIC,
      resourceName: TELEMETRY,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: `User:${IOT_BRIDGE_SCRAM_USER}`,
      host: '*',
      operation: AclOperationTypes.ALL,
      permissionType: AclPermissionTypes.ALLOW,
    };
    const probes: Record<string, () => Promise<unknown>> = {
      'create a topic': () =>
        userAdmin.createTopics({
          topics: [{ topic: 'telemetry.raw.new', numPartitions: 1, replicationFactor: 1 }],
        }),
      'create a look-alike topic': () =>
        userAdmin.createTopics({
          topics: [{ topic: 'telemetry.raw3', numPartitions: 1, replicationFactor: 1 }],
        }),
      'delete telemetry.raw': () => userAdmin.deleteTopics({ topics: [TELEMETRY] }),
      'delete another topic': () => userAdmin.deleteTopics({ topics: ['events.user'] }),
      'alter telemetry.raw (partitions)': () =>
        userAdmin.createPartitions({ topicPartitions: [{ topic: TELEMETRY, count: 12 }] }),
      'delete records of telemetry.raw': () =>
        userAdmin.deleteTopicRecords({ topic: TELEMETRY, partitions: [{ partition: 0, offset: '-1' }] }),
      'describe configs of telemetry.raw': () =>
        userAdmin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: TELEMETRY }],
        }),
      'alter configs of telemetry.raw': () =>
        userAdmin.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: ConfigResourceTypes.TOPIC,
              name: TELEMETRY,
              configEntries: [{ name: 'retention.ms', value: '1000' }],
            },
          ],
        }),
      'describe broker configs': () =>
        userAdmin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.BROKER, name: '1' }],
        }),
      'alter broker configs': () =>
        userAdmin.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: ConfigResourceTypes.BROKER,
              name: '1',
              configEntries: [{ name: 'log.retention.ms', value: '1000' }],
            },
          ],
        }),
      'describe a group': () => userAdmin.describeGroups(['platform-enrich']),
      "read a group's offsets": () =>
        userAdmin.fetchOffsets({ groupId: 'platform-enrich', topics: [TELEMETRY] }),
      "reset a group's offsets": () =>
        userAdmin.setOffsets({
          groupId: 'platform-enrich',
          topic: TELEMETRY,
          partitions: [{ partition: 0, offset: '0' }],
        }),
      'delete a group': () => userAdmin.deleteGroups(['platform-enrich']),
      'describe ACLs': () =>
        userAdmin.describeAcls({
          resourceType: AclResourceTypes.ANY,
          resourcePatternType: ResourcePatternTypes.ANY,
          operation: AclOperationTypes.ANY,
          permissionType: AclPermissionTypes.ANY,
        }),
      'grant itself more': () => userAdmin.createAcls({ acl: [grantAll] }),
      'delete ACLs': () =>
        userAdmin.deleteAcls({ filters: [{ ...grantAll, operation: AclOperationTypes.ANY }] }),
      'list partition reassignments': () => userAdmin.listPartitionReassignments({}),
      'reassign partitions': () =>
        userAdmin.alterPartitionReassignments({
          topics: [{ topic: TELEMETRY, partitionAssignment: [{ partition: 0, replicas: [1] }] }],
        }),
      'use a transactional id': async () => {
        const producer = bridge.producer({
          transactionalId: 'iot-bridge-tx',
          maxInFlightRequests: 1,
          idempotent: true,
          retry: { retries: 1, initialRetryTime: 100 },
        });
        await producer.connect();
        try {
          const tx = await producer.transaction();
          await tx.abort();
        } finally {
          await producer.disconnect();
        }
      },
    };
    const outcomes: Record<string, string> = {};
    try {
      for (const [name, probe] of Object.entries(probes)) outcomes[name] = await outcomeOf(probe);
      // ListGroups is not refused: it lists only the groups the principal may describe (none).
      expect((await userAdmin.listGroups()).groups).toEqual([]);
    } finally {
      await userAdmin.disconnect();
    }
    // Each refusal with the authorizer's denial that caused it (operation and resource), from the broker log.
    expect(outcomes).toEqual({
      'create a topic': 'refused; CREATE Topic:LITERAL:telemetry.raw.new',
      'create a look-alike topic': 'refused; CREATE Topic:LITERAL:telemetry.raw3',
      'delete telemetry.raw': 'refused; DELETE Topic:LITERAL:telemetry.raw',
      'delete another topic': 'refused; DELETE Topic:LITERAL:events.user; DESCRIBE Topic:LITERAL:events.user',
      'alter telemetry.raw (partitions)': 'refused; ALTER Topic:LITERAL:telemetry.raw',
      'delete records of telemetry.raw': 'refused; DELETE Topic:LITERAL:telemetry.raw',
      'describe configs of telemetry.raw': 'refused; DESCRIBE_CONFIGS Topic:LITERAL:telemetry.raw',
      'alter configs of telemetry.raw': 'refused; ALTER_CONFIGS Topic:LITERAL:telemetry.raw',
      'describe broker configs': 'refused; DESCRIBE_CONFIGS Cluster:LITERAL:kafka-cluster',
      'alter broker configs': 'refused; ALTER_CONFIGS Cluster:LITERAL:kafka-cluster',
      'describe a group': 'refused; DESCRIBE Group:LITERAL:platform-enrich',
      "read a group's offsets": 'refused; DESCRIBE Group:LITERAL:platform-enrich',
      "reset a group's offsets": 'refused; DESCRIBE Group:LITERAL:platform-enrich',
      'delete a group': 'refused; DESCRIBE Group:LITERAL:platform-enrich',
      'describe ACLs': 'refused; DESCRIBE Cluster:LITERAL:kafka-cluster',
      'grant itself more': 'refused; ALTER Cluster:LITERAL:kafka-cluster',
      'delete ACLs': 'refused; ALTER Cluster:LITERAL:kafka-cluster',
      'list partition reassignments': 'refused; DESCRIBE Cluster:LITERAL:kafka-cluster',
      'reassign partitions': 'refused; ALTER Cluster:LITERAL:kafka-cluster',
      'use a transactional id': 'refused; DESCRIBE TransactionalId:LITERAL:iot-bridge-tx',
    });
    // Nothing changed behind a refusal.
    expect(await listAllAcls(admin)).toEqual(EXPECTED_ACLS);
    expect((await admin.listTopics()).filter((t) => !t.startsWith('__')).sort()).toEqual(
      [...catalog, ...LOOK_ALIKES].sort(),
    );
  });

  test('consuming with a group is denied at the group', async () => {
    const mark = kafka.logMark();
    const consumer = bridge.consumer({ groupId: 'iot-bridge-reader', retry: { retries: 0 } });
    const crashed = new Promise<string>((resolve) =>
      consumer.on(consumer.events.CRASH, ({ payload }) => resolve(errorChain(payload.error))),
    );
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: TELEMETRY, fromBeginning: true });
      await consumer.run({ eachMessage: () => Promise.reject(new Error('the SCRAM user must not read')) });
      const outcome = await within(crashed, 15_000, 'not refused');
      // kafkajs reports the refused FindCoordinator as "coordinator not found"; the authorizer log says why.
      expect(outcome).toMatch(/coordinator/i);
      expect(kafka.logSince(mark)).toMatch(
        /User:iot-bridge is Denied operation = DESCRIBE from host = \S+ on resource = Group:LITERAL:iot-bridge-reader /,
      );
    } finally {
      await consumer.disconnect();
    }
  });

  test('reading telemetry.raw is denied at the topic, even with a group the user may use', async () => {
    // A probe ACL, outside the declared set, so that the consumer gets past the group to the fetch.
    const probeAcl = {
      resourceType: AclResourceTypes.GROUP,
      resourceName: PROBE_GROUP,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: `User:${IOT_BRIDGE_SCRAM_USER}`,
      host: '*',
      operation: AclOperationTypes.READ,
      permissionType: AclPermissionTypes.ALLOW,
    };
    await admin.createAcls({ acl: [probeAcl] });
    let read = 0;
    const mark = kafka.logMark();
    const consumer = bridge.consumer({ groupId: PROBE_GROUP, retry: { retries: 0 } });
    const crashed = new Promise<string>((resolve) =>
      consumer.on(consumer.events.CRASH, ({ payload }) => resolve(errorChain(payload.error))),
    );
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: TELEMETRY, fromBeginning: true });
      await consumer.run({
        eachMessage: () => {
          read++;
          return Promise.resolve();
        },
      });
      const outcome = await within(crashed, 20_000, 'not refused');
      expect({ outcome, read }).toEqual({
        outcome: expect.stringMatching(/TOPIC_AUTHORIZATION_FAILED/),
        read: 0,
      });
      expect(kafka.logSince(mark)).toMatch(
        /User:iot-bridge is Denied operation = READ from host = \S+ on resource = Topic:LITERAL:telemetry.raw /,
      );
    } finally {
      await consumer.disconnect();
      await admin.deleteAcls({ filters: [probeAcl] });
    }
    expect(await listAllAcls(admin)).toEqual(EXPECTED_ACLS);
  });

  test('an update that narrows a wider set leaves exactly the expected ACLs', async () => {
    // As if an earlier deployment had declared a prefix pattern and a READ: the update must remove them.
    const wider: KafkaAcl[] = [
      ...EXPECTED_ACLS,
      {
        resourceType: 'TOPIC',
        resourceName: 'telemetry.',
        patternType: 'PREFIXED',
        principal: 'User:iot-bridge',
        host: '*',
        operation: 'WRITE',
        permission: 'ALLOW',
      },
      {
        resourceType: 'TOPIC',
        resourceName: 'telemetry.raw',
        patternType: 'LITERAL',
        principal: 'User:iot-bridge',
        host: '*',
        operation: 'READ',
        permission: 'ALLOW',
      },
    ];
    await runFunction('Update', JSON.stringify(wider), aclsJson);
    const byText = (a: KafkaAcl, b: KafkaAcl) => JSON.stringify(a).localeCompare(JSON.stringify(b));
    expect(await listAllAcls(admin)).toEqual([...wider].sort(byText));
    await runFunction('Update', aclsJson, JSON.stringify(wider));
    expect(await listAllAcls(admin)).toEqual(EXPECTED_ACLS);
  });

  test('deleting the resource removes every ACL it applied: the broker holds none', async () => {
    await runFunction('Delete');
    expect(await listAllAcls(admin)).toEqual([]);
    expect(await outcomeOf(() => produceOne(bridge, TELEMETRY))).toBe(
      'refused; DESCRIBE Topic:LITERAL:telemetry.raw',
    );
  });
});
