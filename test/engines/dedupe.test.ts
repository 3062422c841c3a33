/**
 * Dedupe claims (lambda/shared/consumer/dedupe.ts) on a real dynalite: the decisions of
 * docs/events-path.md, "A claim per eventId", and the stored claim items.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  claimEvents,
  ClaimInFlightError,
  claimKey,
  decideClaims,
  markApplied,
  type ClaimOptions,
} from '../../lambda/shared/consumer/dedupe';
import type { RecordPosition } from '../../lambda/shared/consumer/types';
import { topicName } from '../../lib/topics/topic-specs';
import { LocalDynamo } from './harness/dynalite';

const TABLE = 'aggregate-state';
const TOPIC = topicName('eventsEnriched');
const NOW = Date.parse('2026-11-25T06:00:00.000Z');
const HORIZON = 7 * 24 * 3600;
const LEASE = 900;

let dynamo: LocalDynamo;

beforeAll(async () => {
  dynamo = await LocalDynamo.start([{ name: TABLE }]);
});

afterAll(async () => {
  await dynamo.stop();
});

const at = (partition: number, offset: number): RecordPosition => ({ topic: TOPIC, partition, offset });
const options = (now: number, consumer = 'aggregate'): ClaimOptions => ({
  table: TABLE,
  consumer,
  horizonSeconds: HORIZON,
  leaseSeconds: LEASE,
  now,
});

async function stored(eventId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.documentClient.send(
    new GetCommand({ TableName: TABLE, Key: claimKey(eventId, 'aggregate'), ConsistentRead: true }),
  );
  return Item;
}

test('a new event proceeds and its claim item records where it was first seen', async () => {
  const decided = await claimEvents(dynamo.client, options(NOW), [{ eventId: 'e-new', position: at(0, 10) }]);
  expect([...decided]).toEqual([[`${TOPIC}:0:10`, 'proceed']]);
  expect(await stored('e-new')).toEqual({
    pk: 'event#e-new',
    sk: 'aggregate',
    topic: TOPIC,
    partition: 0,
    offset: 10,
    applied: false,
    claimedAt: NOW,
    expiresAt: NOW / 1000 + HORIZON,
  });
});

test('the same position proceeds again (a redelivery), before and after it is applied; elsewhere it is then a duplicate', async () => {
  const first = [{ eventId: 'e-same', position: at(1, 20) }];
  await claimEvents(dynamo.documentClient, options(NOW), first);
  expect([...(await claimEvents(dynamo.client, options(NOW + 1000), first))]).toEqual([
    [`${TOPIC}:1:20`, 'proceed'],
  ]);
  expect(await markApplied(dynamo.client, { table: TABLE, consumer: 'aggregate' }, first)).toEqual([]);
  expect((await stored('e-same'))?.applied).toBe(true);
  expect([...(await claimEvents(dynamo.client, options(NOW + 2000), first))]).toEqual([
    [`${TOPIC}:1:20`, 'proceed'],
  ]);
  const again = await claimEvents(dynamo.client, options(NOW + 3000), [
    { eventId: 'e-same', position: at(2, 5) },
  ]);
  expect([...again]).toEqual([[`${TOPIC}:2:5`, 'duplicate']]);
  // The applied claim was not reset by the redelivery.
  expect((await stored('e-same'))?.applied).toBe(true);
});

test('a fresh claim elsewhere that is not applied is in flight: a transient failure', async () => {
  await claimEvents(dynamo.client, options(NOW), [{ eventId: 'e-flight', position: at(0, 30) }]);
  const elsewhere = [{ eventId: 'e-flight', position: at(3, 31) }];
  await expect(claimEvents(dynamo.client, options(NOW + 60_000), elsewhere)).rejects.toThrow(
    ClaimInFlightError,
  );
  await expect(claimEvents(dynamo.client, options(NOW + 60_000), elsewhere)).rejects.toThrow(
    `event e-flight at ${TOPIC}:3:31 is claimed at ${TOPIC}:0:30, not applied yet`,
  );
  expect(await decideClaims(dynamo.client, options(NOW + 60_000), elsewhere)).toEqual([
    { kind: 'in_flight', firstSeen: at(0, 30) },
  ]);
});

test('a claim older than the lease and not applied is taken over; the old attempt can no longer mark it', async () => {
  const old = [{ eventId: 'e-stale', position: at(0, 40) }];
  await claimEvents(dynamo.client, options(NOW), old);
  const later = NOW + LEASE * 1000 + 1;
  const replay = [{ eventId: 'e-stale', position: at(5, 2) }];
  expect([...(await claimEvents(dynamo.client, options(later), replay))]).toEqual([
    [`${TOPIC}:5:2`, 'proceed'],
  ]);
  expect(await stored('e-stale')).toEqual({
    pk: 'event#e-stale',
    sk: 'aggregate',
    topic: TOPIC,
    partition: 5,
    offset: 2,
    applied: false,
    claimedAt: later,
    earlier: [at(0, 40)],
    expiresAt: Math.floor(later / 1000) + HORIZON,
  });
  // The taker is told where the dead attempt was (its effects may be partly committed), and a
  // redelivery of the taker's own record is told again.
  expect(await decideClaims(dynamo.client, options(later + 1), replay)).toEqual([
    { kind: 'proceed', earlier: [at(0, 40)] },
  ]);
  expect(await markApplied(dynamo.client, { table: TABLE, consumer: 'aggregate' }, old)).toEqual([at(0, 40)]);
  expect(await markApplied(dynamo.client, { table: TABLE, consumer: 'aggregate' }, replay)).toEqual([]);
});

test('a retry at the same position renews the lease of its unapplied claim; an applied claim is left as it is', async () => {
  const first = [{ eventId: 'e-renew', position: at(0, 90) }];
  await claimEvents(dynamo.client, options(NOW), first);
  const retried = NOW + LEASE * 1000 - 1;
  expect(await decideClaims(dynamo.client, options(retried), first)).toEqual([{ kind: 'proceed' }]);
  expect(await stored('e-renew')).toEqual({
    pk: 'event#e-renew',
    sk: 'aggregate',
    topic: TOPIC,
    partition: 0,
    offset: 90,
    applied: false,
    claimedAt: retried,
    expiresAt: NOW / 1000 + HORIZON,
  });
  // Past the first claim's lease but within the renewed one: another copy is in flight, not a takeover.
  const elsewhere = [{ eventId: 'e-renew', position: at(3, 9) }];
  expect(await decideClaims(dynamo.client, options(NOW + LEASE * 1000 + 1), elsewhere)).toEqual([
    { kind: 'in_flight', firstSeen: at(0, 90) },
  ]);
  expect(await markApplied(dynamo.client, { table: TABLE, consumer: 'aggregate' }, first)).toEqual([]);
  expect(await decideClaims(dynamo.client, options(retried + 5000), first)).toEqual([{ kind: 'proceed' }]);
  expect(await stored('e-renew')).toEqual({
    pk: 'event#e-renew',
    sk: 'aggregate',
    topic: TOPIC,
    partition: 0,
    offset: 90,
    applied: true,
    claimedAt: retried,
    expiresAt: NOW / 1000 + HORIZON,
  });
});

test('a claim taken over twice remembers both dead attempts, oldest first', async () => {
  await claimEvents(dynamo.client, options(NOW), [{ eventId: 'e-twice', position: at(0, 60) }]);
  const second = NOW + LEASE * 1000 + 1;
  await claimEvents(dynamo.client, options(second), [{ eventId: 'e-twice', position: at(1, 7) }]);
  const third = second + LEASE * 1000 + 1;
  expect(
    await decideClaims(dynamo.client, options(third), [{ eventId: 'e-twice', position: at(2, 3) }]),
  ).toEqual([{ kind: 'proceed', earlier: [at(0, 60), at(1, 7)] }]);
});

test('a claim exactly at the lease is still in flight', async () => {
  await claimEvents(dynamo.client, options(NOW), [{ eventId: 'e-edge', position: at(0, 50) }]);
  await expect(
    claimEvents(dynamo.client, options(NOW + LEASE * 1000), [{ eventId: 'e-edge', position: at(0, 51) }]),
  ).rejects.toThrow(ClaimInFlightError);
});

test('duplicates inside one call: the lowest position claims, the others are duplicates of it', async () => {
  const records = [
    { eventId: 'e-dup', position: at(0, 62) },
    { eventId: 'e-other', position: at(0, 61) },
    { eventId: 'e-dup', position: at(0, 60) },
    { eventId: 'e-dup', position: at(0, 63) },
  ];
  const decided = await claimEvents(dynamo.client, options(NOW), records);
  expect([...decided].sort()).toEqual(
    [
      [`${TOPIC}:0:60`, 'proceed'],
      [`${TOPIC}:0:61`, 'proceed'],
      [`${TOPIC}:0:62`, 'duplicate'],
      [`${TOPIC}:0:63`, 'duplicate'],
    ].sort(),
  );
  expect((await stored('e-dup'))?.offset).toBe(60);
});

test('an expired claim (TTL passed, not yet deleted) counts as absent, applied or not', async () => {
  await dynamo.documentClient.send(
    new PutCommand({
      TableName: TABLE,
      Item: {
        ...claimKey('e-expired', 'aggregate'),
        topic: TOPIC,
        partition: 0,
        offset: 1,
        applied: true,
        claimedAt: NOW - HORIZON * 1000 - 5000,
        expiresAt: NOW / 1000 - 1,
      },
    }),
  );
  const decided = await claimEvents(dynamo.client, options(NOW), [
    { eventId: 'e-expired', position: at(4, 70) },
  ]);
  expect([...decided]).toEqual([[`${TOPIC}:4:70`, 'proceed']]);
  expect((await stored('e-expired'))?.offset).toBe(70);
});

test("claims are per consumer: another consumer's claim of the same event does not matter", async () => {
  await claimEvents(dynamo.client, options(NOW, 'enrich'), [{ eventId: 'e-shared', position: at(0, 80) }]);
  const decided = await claimEvents(dynamo.client, options(NOW), [
    { eventId: 'e-shared', position: at(1, 81) },
  ]);
  expect([...decided]).toEqual([[`${TOPIC}:1:81`, 'proceed']]);
});
