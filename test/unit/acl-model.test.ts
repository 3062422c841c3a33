/**
 * The SCRAM principals' Kafka ACLs without a broker: the declared set (lib/kafka/acl-model.ts) and
 * what the custom-resource function (lambda/kafka-acls) asks the admin API to create and delete for
 * each CloudFormation event. Every expectation is a hand-written literal, including kafkajs' numeric
 * codes (they are the Kafka protocol's: TOPIC 2, LITERAL 3, PREFIXED 4, READ 3, WRITE 4, DESCRIBE 8,
 * ALLOW 3), so that a wider pattern or operation, or a wrong mapping to the protocol, fails here.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { AclEntry, Admin } from 'kafkajs';
import { aclKey, parseAcls, producerAcls, type KafkaAcl } from '../../lib/kafka/acl-model';
import { syncAcls, toAclEntry } from '../../lambda/kafka-acls/acls';

/** What the function's admin client was asked to do. */
const calls: { call: 'connect' | 'createAcls' | 'deleteAcls' | 'disconnect'; arg?: unknown }[] = [];
const fakeAdmin = {
  connect: () => (calls.push({ call: 'connect' }), Promise.resolve()),
  disconnect: () => (calls.push({ call: 'disconnect' }), Promise.resolve()),
  createAcls: (arg: unknown) => (calls.push({ call: 'createAcls', arg }), Promise.resolve(true)),
  deleteAcls: (arg: unknown) => (
    calls.push({ call: 'deleteAcls', arg }),
    Promise.resolve({ filterResponses: [] })
  ),
} as unknown as Admin;
const kafkaOptions: unknown[] = [];

jest.mock('../../lambda/shared/kafka-client', () => ({
  ...jest.requireActual<object>('../../lambda/shared/kafka-client'),
  createKafka: (options: unknown) => (kafkaOptions.push(options), { admin: () => fakeAdmin }),
}));
jest.mock('../../lambda/shared/powertools', () => ({
  logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
}));
// Imported after the mocks (jest hoists jest.mock above the imports).
import { handler } from '../../lambda/kafka-acls';

const WRITE_TELEMETRY: KafkaAcl = {
  resourceType: 'TOPIC',
  resourceName: 'telemetry.raw',
  patternType: 'LITERAL',
  principal: 'User:iot-bridge',
  host: '*',
  operation: 'WRITE',
  permission: 'ALLOW',
};
const DESCRIBE_TELEMETRY: KafkaAcl = { ...WRITE_TELEMETRY, operation: 'DESCRIBE' };
const WRITE_EVENTS: KafkaAcl = { ...WRITE_TELEMETRY, resourceName: 'events.user' };

/** The same ACLs as kafkajs entries, written out (not derived with toAclEntry). */
const WRITE_TELEMETRY_ENTRY: AclEntry = {
  resourceType: 2,
  resourceName: 'telemetry.raw',
  resourcePatternType: 3,
  principal: 'User:iot-bridge',
  host: '*',
  operation: 4,
  permissionType: 3,
};
const DESCRIBE_TELEMETRY_ENTRY: AclEntry = { ...WRITE_TELEMETRY_ENTRY, operation: 8 };
const WRITE_EVENTS_ENTRY: AclEntry = { ...WRITE_TELEMETRY_ENTRY, resourceName: 'events.user' };

beforeEach(() => {
  calls.length = 0;
  kafkaOptions.length = 0;
});

describe('producerAcls', () => {
  test('WRITE and DESCRIBE on exactly the one topic, literal pattern, any host, allow: nothing else', () => {
    expect(producerAcls('iot-bridge', 'telemetry.raw')).toEqual([
      {
        resourceType: 'TOPIC',
        resourceName: 'telemetry.raw',
        patternType: 'LITERAL',
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
        operation: 'DESCRIBE',
        permission: 'ALLOW',
      },
    ]);
  });

  test('toAclEntry maps to the Kafka protocol codes', () => {
    expect(toAclEntry(WRITE_TELEMETRY)).toEqual(WRITE_TELEMETRY_ENTRY);
    expect(toAclEntry(DESCRIBE_TELEMETRY)).toEqual(DESCRIBE_TELEMETRY_ENTRY);
    expect(
      toAclEntry({ ...WRITE_TELEMETRY, patternType: 'PREFIXED', operation: 'READ', permission: 'DENY' }),
    ).toEqual({
      ...WRITE_TELEMETRY_ENTRY,
      resourcePatternType: 4,
      operation: 3,
      permissionType: 2,
    });
  });
});

describe('parseAcls and aclKey', () => {
  test('the JSON the custom resource carries round-trips; host defaults to *', () => {
    const noHost = Object.fromEntries(Object.entries(WRITE_TELEMETRY).filter(([name]) => name !== 'host'));
    expect(parseAcls(JSON.stringify([noHost, DESCRIBE_TELEMETRY]))).toEqual([
      WRITE_TELEMETRY,
      DESCRIBE_TELEMETRY,
    ]);
  });

  test('anything that is not a list of valid ACLs is refused, naming the item', () => {
    expect(() => parseAcls('{}')).toThrow('Acls must be a JSON array');
    expect(() => parseAcls([{ ...WRITE_TELEMETRY, principal: 'iot-bridge' }])).toThrow(
      'Acls[0] is not a valid ACL',
    );
    expect(() => parseAcls([WRITE_TELEMETRY, { ...WRITE_TELEMETRY, operation: 'ALL' }])).toThrow(
      'Acls[1] is not a valid ACL',
    );
    expect(() => parseAcls([{ ...WRITE_TELEMETRY, patternType: 'MATCH' }])).toThrow('Acls[0]');
    expect(() => parseAcls([{ ...WRITE_TELEMETRY, resourceName: '' }])).toThrow('Acls[0]');
  });

  test('aclKey tells apart every field', () => {
    expect(aclKey(WRITE_TELEMETRY)).toBe('TOPIC|LITERAL|telemetry.raw|User:iot-bridge|*|WRITE|ALLOW');
    const variants: KafkaAcl[] = [
      { ...WRITE_TELEMETRY, resourceType: 'GROUP' },
      { ...WRITE_TELEMETRY, patternType: 'PREFIXED' },
      { ...WRITE_TELEMETRY, resourceName: 'telemetry.raw2' },
      { ...WRITE_TELEMETRY, principal: 'User:other' },
      { ...WRITE_TELEMETRY, host: '10.0.0.1' },
      { ...WRITE_TELEMETRY, operation: 'READ' },
      { ...WRITE_TELEMETRY, permission: 'DENY' },
    ];
    expect(new Set([WRITE_TELEMETRY, ...variants].map(aclKey)).size).toBe(8);
  });
});

describe('syncAcls: the admin calls for add, remove and no change', () => {
  test('first apply: creates the declared ACLs, deletes nothing', async () => {
    expect(await syncAcls(fakeAdmin, [WRITE_TELEMETRY, DESCRIBE_TELEMETRY])).toEqual({
      created: 2,
      deleted: 0,
    });
    expect(calls).toEqual([
      { call: 'createAcls', arg: { acl: [WRITE_TELEMETRY_ENTRY, DESCRIBE_TELEMETRY_ENTRY] } },
    ]);
  });

  test('no change: the declared ACLs are created again (a no-op on the broker), nothing deleted', async () => {
    const acls = [WRITE_TELEMETRY, DESCRIBE_TELEMETRY];
    expect(await syncAcls(fakeAdmin, acls, acls)).toEqual({ created: 2, deleted: 0 });
    expect(calls).toEqual([
      { call: 'createAcls', arg: { acl: [WRITE_TELEMETRY_ENTRY, DESCRIBE_TELEMETRY_ENTRY] } },
    ]);
  });

  test('an ACL added and one dropped: the new set is created, exactly the dropped one deleted', async () => {
    expect(
      await syncAcls(fakeAdmin, [WRITE_TELEMETRY, WRITE_EVENTS], [WRITE_TELEMETRY, DESCRIBE_TELEMETRY]),
    ).toEqual({ created: 2, deleted: 1 });
    expect(calls).toEqual([
      { call: 'createAcls', arg: { acl: [WRITE_TELEMETRY_ENTRY, WRITE_EVENTS_ENTRY] } },
      { call: 'deleteAcls', arg: { filters: [DESCRIBE_TELEMETRY_ENTRY] } },
    ]);
  });

  test('a dropped prefix pattern or extra operation is deleted exactly (pattern and operation in the filter)', async () => {
    const prefixed: KafkaAcl = { ...WRITE_TELEMETRY, resourceName: 'telemetry.', patternType: 'PREFIXED' };
    const read: KafkaAcl = { ...WRITE_TELEMETRY, operation: 'READ' };
    expect(
      await syncAcls(
        fakeAdmin,
        [WRITE_TELEMETRY, DESCRIBE_TELEMETRY],
        [WRITE_TELEMETRY, prefixed, read, DESCRIBE_TELEMETRY],
      ),
    ).toEqual({ created: 2, deleted: 2 });
    expect(calls).toEqual([
      { call: 'createAcls', arg: { acl: [WRITE_TELEMETRY_ENTRY, DESCRIBE_TELEMETRY_ENTRY] } },
      {
        call: 'deleteAcls',
        arg: {
          filters: [
            { ...WRITE_TELEMETRY_ENTRY, resourceName: 'telemetry.', resourcePatternType: 4 },
            { ...WRITE_TELEMETRY_ENTRY, operation: 3 },
          ],
        },
      },
    ]);
  });

  test('removal: deletes exactly the previous ACLs, creates nothing', async () => {
    expect(await syncAcls(fakeAdmin, [], [WRITE_TELEMETRY, DESCRIBE_TELEMETRY])).toEqual({
      created: 0,
      deleted: 2,
    });
    expect(calls).toEqual([
      { call: 'deleteAcls', arg: { filters: [WRITE_TELEMETRY_ENTRY, DESCRIBE_TELEMETRY_ENTRY] } },
    ]);
  });
});

describe('the custom-resource handler', () => {
  const base = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:provider',
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/streaming-dev-sources/1',
    RequestId: 'request-1',
    LogicalResourceId: 'IotBridgeAcls42C0E743',
    ResourceType: 'Custom::KafkaAcls',
  };
  const props = (acls: KafkaAcl[]) => ({ ServiceToken: base.ServiceToken, Acls: JSON.stringify(acls) });
  const update = (acls: KafkaAcl[], oldAcls: KafkaAcl[]): CloudFormationCustomResourceEvent => ({
    ...base,
    RequestType: 'Update',
    PhysicalResourceId: 'kafka-acls-0123456789abcdef',
    ResourceProperties: props(acls),
    OldResourceProperties: props(oldAcls),
  });
  const before = { ...process.env };
  beforeEach(() => {
    process.env.BOOTSTRAP_BROKERS = 'b-1.example:9098,b-2.example:9098';
    process.env.KAFKA_AUTH = 'iam';
    process.env.AWS_REGION = 'eu-west-1';
  });
  afterAll(() => {
    process.env = before;
  });

  test('Create: connects with IAM to the configured brokers and creates the declared ACLs', async () => {
    const event: CloudFormationCustomResourceEvent = {
      ...base,
      RequestType: 'Create',
      ResourceProperties: props([WRITE_TELEMETRY, DESCRIBE_TELEMETRY]),
    };
    const result = await handler(event);
    expect(result.PhysicalResourceId).toMatch(/^kafka-acls-[0-9a-f]{16}$/);
    // The physical id is stable for the same resource: a replayed Create does not replace it.
    expect((await handler(event)).PhysicalResourceId).toBe(result.PhysicalResourceId);
    expect(kafkaOptions[0]).toEqual({
      brokers: 'b-1.example:9098,b-2.example:9098',
      auth: 'iam',
      region: 'eu-west-1',
      clientId: 'kafka-acls',
    });
    const once = [
      { call: 'connect' },
      { call: 'createAcls', arg: { acl: [WRITE_TELEMETRY_ENTRY, DESCRIBE_TELEMETRY_ENTRY] } },
      { call: 'disconnect' },
    ];
    expect(calls).toEqual([...once, ...once]);
  });

  test('Update with the same ACLs: creates them again, deletes nothing, keeps the physical id', async () => {
    const event = update([WRITE_TELEMETRY, DESCRIBE_TELEMETRY], [WRITE_TELEMETRY, DESCRIBE_TELEMETRY]);
    expect(await handler(event)).toEqual({ PhysicalResourceId: 'kafka-acls-0123456789abcdef' });
    expect(calls).toEqual([
      { call: 'connect' },
      { call: 'createAcls', arg: { acl: [WRITE_TELEMETRY_ENTRY, DESCRIBE_TELEMETRY_ENTRY] } },
      { call: 'disconnect' },
    ]);
  });

  test('Update that adds one ACL and drops another: creates the new set, deletes exactly the dropped one', async () => {
    const event = update([WRITE_TELEMETRY, WRITE_EVENTS], [WRITE_TELEMETRY, DESCRIBE_TELEMETRY]);
    expect(await handler(event)).toEqual({ PhysicalResourceId: 'kafka-acls-0123456789abcdef' });
    expect(calls).toEqual([
      { call: 'connect' },
      { call: 'createAcls', arg: { acl: [WRITE_TELEMETRY_ENTRY, WRITE_EVENTS_ENTRY] } },
      { call: 'deleteAcls', arg: { filters: [DESCRIBE_TELEMETRY_ENTRY] } },
      { call: 'disconnect' },
    ]);
  });

  test('Delete: deletes exactly the declared ACLs, creates nothing', async () => {
    const event: CloudFormationCustomResourceEvent = {
      ...base,
      RequestType: 'Delete',
      PhysicalResourceId: 'kafka-acls-0123456789abcdef',
      ResourceProperties: props([WRITE_TELEMETRY, DESCRIBE_TELEMETRY]),
    };
    expect(await handler(event)).toEqual({ PhysicalResourceId: 'kafka-acls-0123456789abcdef' });
    expect(calls).toEqual([
      { call: 'connect' },
      { call: 'deleteAcls', arg: { filters: [WRITE_TELEMETRY_ENTRY, DESCRIBE_TELEMETRY_ENTRY] } },
      { call: 'disconnect' },
    ]);
  });

  test('a failed admin call still disconnects, and the event fails', async () => {
    const failing = jest
      .spyOn(fakeAdmin, 'createAcls')
      .mockRejectedValueOnce(new Error('CLUSTER_AUTHORIZATION_FAILED'));
    await expect(
      handler({ ...base, RequestType: 'Create', ResourceProperties: props([WRITE_TELEMETRY]) }),
    ).rejects.toThrow('CLUSTER_AUTHORIZATION_FAILED');
    expect(calls.map((c) => c.call)).toEqual(['connect', 'disconnect']);
    failing.mockRestore();
  });

  test('without BOOTSTRAP_BROKERS, or with an unknown KAFKA_AUTH, nothing is attempted', async () => {
    delete process.env.BOOTSTRAP_BROKERS;
    const event: CloudFormationCustomResourceEvent = {
      ...base,
      RequestType: 'Create',
      ResourceProperties: props([WRITE_TELEMETRY]),
    };
    await expect(handler(event)).rejects.toThrow('BOOTSTRAP_BROKERS is not set');
    process.env.BOOTSTRAP_BROKERS = 'b-1.example:9098';
    process.env.KAFKA_AUTH = 'plaintext';
    await expect(handler(event)).rejects.toThrow('KAFKA_AUTH must be iam or none');
    expect(calls).toEqual([]);
  });
});
