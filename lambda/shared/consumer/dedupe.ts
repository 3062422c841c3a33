/**
 * Dedupe claims (docs/events-path.md, "A claim per eventId"): item `pk=event#<eventId>,
 * sk=<consumer>` in the consumer's state table holds the first position where the event was seen,
 * whether its effects are committed (`applied`), when it was claimed, and a TTL at the dedupe
 * horizon. Only single-item conditional writes: dynalite has no transactions, and it does not
 * implement `ReturnValuesOnConditionCheckFailure`, so a refused claim is read back with a strongly
 * consistent GetItem. DynamoDB deletes expired items lazily, so an item whose `expiresAt` has passed
 * counts as absent.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type PutCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { tracer } from '../powertools';
import { forEachLimited } from './concurrency';
import { STATE_TABLE } from './state-table';
import type { RecordPosition } from './types';

export interface ClaimOptions {
  /** The consumer's state table. */
  readonly table: string;
  /** The consumer's name: the claim's sort key. */
  readonly consumer: string;
  /** How long a claim is remembered (the dedupe horizon). */
  readonly horizonSeconds: number;
  /** After this long, a claim that is not applied is taken over (its attempt died). */
  readonly leaseSeconds: number;
  /** The clock (epoch ms). */
  readonly now: number;
}

export interface ClaimRequest {
  readonly eventId: string;
  readonly position: RecordPosition;
}

/** What a claim decided for one record. */
export type ClaimDecision =
  /**
   * Apply it. `earlier` lists the positions of earlier attempts whose claims were taken over after
   * their lease (oldest first): their effects may be partly committed, so a consumer whose state
   * marks positions checks them too before counting the record again.
   */
  | { readonly kind: 'proceed'; readonly earlier?: readonly RecordPosition[] }
  /** Seen first at another position, in this batch or applied before: skip it. */
  | { readonly kind: 'duplicate'; readonly firstSeen: RecordPosition }
  /** Claimed at another position, not applied, within its lease: another copy is in flight. */
  | { readonly kind: 'in_flight'; readonly firstSeen: RecordPosition };

/** Thrown by {@link claimEvents} when another copy of an event is in flight: a transient failure. */
export class ClaimInFlightError extends Error {
  constructor(
    public readonly eventId: string,
    public readonly position: RecordPosition,
    public readonly claimedAt: RecordPosition,
  ) {
    super(
      `event ${eventId} at ${positionKey(position)} is claimed at ${positionKey(claimedAt)}, not applied yet`,
    );
    this.name = 'ClaimInFlightError';
  }
}

/** `<topic>:<partition>:<offset>`: the key of a position in the maps of this module. */
export function positionKey(position: RecordPosition): string {
  return `${position.topic}:${position.partition}:${position.offset}`;
}

/** The claim item's key. */
export function claimKey(eventId: string, consumer: string): Record<string, string> {
  return { [STATE_TABLE.partitionKey]: `event#${eventId}`, [STATE_TABLE.sortKey]: consumer };
}

/** Puts at most this many claims at once per call. */
export const CLAIM_CONCURRENCY = 16;

/** How often a claim is tried again when the item changed between the refused write and the read. */
const CLAIM_ATTEMPTS = 3;

function comparePositions(a: RecordPosition, b: RecordPosition): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  return a.partition - b.partition || a.offset - b.offset;
}

function samePosition(a: RecordPosition, b: RecordPosition): boolean {
  return a.topic === b.topic && a.partition === b.partition && a.offset === b.offset;
}

function documentClient(client: DynamoDBDocumentClient | DynamoDBClient): DynamoDBDocumentClient {
  return client instanceof DynamoDBDocumentClient ? client : DynamoDBDocumentClient.from(client);
}

interface ClaimItem {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly applied: boolean;
  readonly claimedAt: number;
  readonly expiresAt: number;
  /** The positions of the attempts this claim was taken over from, oldest first. */
  readonly earlier?: readonly RecordPosition[];
}

/**
 * At most this many taken-over positions are remembered per claim (each takeover needs a batch
 * that died after its lease: a handful in practice). Beyond it the oldest are forgotten, and a
 * partly committed effect of that attempt could be counted again.
 */
export const MAX_EARLIER_POSITIONS = 32;

function withEarlier(earlier: readonly RecordPosition[] | undefined): {
  earlier?: readonly RecordPosition[];
} {
  return earlier && earlier.length > 0 ? { earlier } : {};
}

/** The condition "the claim is still exactly this unapplied item" (nothing changed it since it was read). */
function unchangedClaim(item: ClaimItem): {
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
} {
  return {
    ConditionExpression:
      '#topic = :topic AND #partition = :partition AND #offset = :offset AND #applied = :false AND #claimedAt = :claimedAt',
    ExpressionAttributeNames: {
      '#topic': 'topic',
      '#partition': 'partition',
      '#offset': 'offset',
      '#applied': 'applied',
      '#claimedAt': 'claimedAt',
    },
    ExpressionAttributeValues: {
      ':topic': item.topic,
      ':partition': item.partition,
      ':offset': item.offset,
      ':false': false,
      ':claimedAt': item.claimedAt,
    },
  };
}

/** Sends a conditional write: true when written, false when its condition did not hold. */
async function conditionally(
  doc: DynamoDBDocumentClient,
  command: PutCommand | UpdateCommand,
): Promise<boolean> {
  try {
    if (command instanceof PutCommand) await doc.send(command);
    else await doc.send(command);
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

/** Sets `claimedAt` to now if the claim is still this unapplied one; false when it changed. */
function renewClaim(
  doc: DynamoDBDocumentClient,
  options: ClaimOptions,
  eventId: string,
  item: ClaimItem,
): Promise<boolean> {
  const unchanged = unchangedClaim(item);
  return conditionally(
    doc,
    new UpdateCommand({
      TableName: options.table,
      Key: claimKey(eventId, options.consumer),
      UpdateExpression: 'SET #claimedAt = :now',
      ...unchanged,
      ExpressionAttributeValues: { ...unchanged.ExpressionAttributeValues, ':now': options.now },
    }),
  );
}

/** One event's claim: put it if absent, expired or stale, else decide from the stored claim. */
async function claimOne(
  doc: DynamoDBDocumentClient,
  options: ClaimOptions,
  eventId: string,
  position: RecordPosition,
): Promise<ClaimDecision> {
  const nowSeconds = Math.floor(options.now / 1000);
  const staleBefore = options.now - options.leaseSeconds * 1000;
  /** Writes this position's claim if the condition holds; false when it does not. */
  const putClaim = (
    condition: Pick<
      PutCommandInput,
      'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
    earlier?: readonly RecordPosition[],
  ): Promise<boolean> =>
    conditionally(
      doc,
      new PutCommand({
        TableName: options.table,
        Item: {
          ...claimKey(eventId, options.consumer),
          topic: position.topic,
          partition: position.partition,
          offset: position.offset,
          applied: false,
          claimedAt: options.now,
          ...withEarlier(earlier),
          [STATE_TABLE.ttlAttribute]: nowSeconds + options.horizonSeconds,
        },
        ...condition,
      }),
    );
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
    const fresh = await putClaim({
      ConditionExpression: 'attribute_not_exists(#pk) OR #exp < :nowSeconds',
      ExpressionAttributeNames: { '#pk': STATE_TABLE.partitionKey, '#exp': STATE_TABLE.ttlAttribute },
      ExpressionAttributeValues: { ':nowSeconds': nowSeconds },
    });
    if (fresh) return { kind: 'proceed' };
    const { Item } = await doc.send(
      new GetCommand({
        TableName: options.table,
        Key: claimKey(eventId, options.consumer),
        ConsistentRead: true,
      }),
    );
    const item = Item as ClaimItem | undefined;
    // Deleted, expired or gone stale since the refused write: claim again.
    if (!item || item.expiresAt < nowSeconds) continue;
    const firstSeen: RecordPosition = { topic: item.topic, partition: item.partition, offset: item.offset };
    if (samePosition(firstSeen, position)) {
      // A retry of the same record renews the lease of its unapplied claim, so that a long outage
      // retried by the mapping does not make the claim look abandoned.
      if (item.applied || item.claimedAt >= options.now || (await renewClaim(doc, options, eventId, item)))
        return { kind: 'proceed', ...withEarlier(item.earlier) };
      continue; // the claim changed since the read
    }
    if (item.applied) return { kind: 'duplicate', firstSeen };
    if (item.claimedAt >= staleBefore) return { kind: 'in_flight', firstSeen };
    // The attempt at `firstSeen` died after its lease: take the claim over from exactly that item,
    // remembering where it was (its effects may be partly committed).
    const earlier = [...(item.earlier ?? []), firstSeen].slice(-MAX_EARLIER_POSITIONS);
    const taken = await putClaim(unchangedClaim(item), earlier);
    if (taken) return { kind: 'proceed', earlier };
  }
  throw new Error(`the claim of event ${eventId} kept changing under ${CLAIM_ATTEMPTS} attempts`);
}

/**
 * Claims the events of these records and decides each one, in the order given. Duplicates inside
 * the call are resolved first, in memory: the lowest position claims, the others are duplicates of
 * it (whatever its own decision, they follow it: a duplicate of an in-flight event is in flight).
 */
export async function decideClaims(
  client: DynamoDBDocumentClient | DynamoDBClient,
  options: ClaimOptions,
  records: readonly ClaimRequest[],
): Promise<ClaimDecision[]> {
  const doc = documentClient(client);
  const winners = new Map<string, ClaimRequest>();
  for (const record of records) {
    const current = winners.get(record.eventId);
    if (!current || comparePositions(record.position, current.position) < 0)
      winners.set(record.eventId, record);
  }
  const unique = [...winners.values()];
  const decided = new Map<string, ClaimDecision>();
  await forEachLimited(unique, CLAIM_CONCURRENCY, async (record) => {
    decided.set(record.eventId, await claimOne(doc, options, record.eventId, record.position));
  });
  return records.map((record) => {
    const winner = winners.get(record.eventId)!;
    const decision = decided.get(record.eventId)!;
    if (samePosition(winner.position, record.position)) return decision;
    if (decision.kind === 'in_flight') return decision;
    return { kind: 'duplicate', firstSeen: winner.position };
  });
}

/**
 * Claims the events of these records: by position key, `proceed` or `duplicate`. Throws a
 * {@link ClaimInFlightError} (a transient failure: the partition retries) when another copy of one
 * of the events is in flight.
 */
export async function claimEvents(
  client: DynamoDBDocumentClient | DynamoDBClient,
  options: ClaimOptions,
  records: readonly ClaimRequest[],
): Promise<Map<string, 'proceed' | 'duplicate'>> {
  const decisions = await decideClaims(client, options, records);
  const out = new Map<string, 'proceed' | 'duplicate'>();
  decisions.forEach((decision, i) => {
    const record = records[i]!;
    if (decision.kind === 'in_flight') {
      throw new ClaimInFlightError(record.eventId, record.position, decision.firstSeen);
    }
    out.set(positionKey(record.position), decision.kind);
  });
  return out;
}

export interface MarkAppliedOptions {
  readonly table: string;
  readonly consumer: string;
}

/**
 * Marks the claims of these records applied, once their effects are committed. A claim that is no
 * longer at the record's position (taken over after the lease) is left alone; the positions of
 * those are returned.
 */
export async function markApplied(
  client: DynamoDBDocumentClient | DynamoDBClient,
  options: MarkAppliedOptions,
  records: readonly ClaimRequest[],
): Promise<RecordPosition[]> {
  const doc = documentClient(client);
  const lost: RecordPosition[] = [];
  await forEachLimited(records, CLAIM_CONCURRENCY, async ({ eventId, position }) => {
    const marked = await conditionally(
      doc,
      new UpdateCommand({
        TableName: options.table,
        Key: claimKey(eventId, options.consumer),
        UpdateExpression: 'SET #applied = :true',
        ConditionExpression: '#topic = :topic AND #partition = :partition AND #offset = :offset',
        ExpressionAttributeNames: {
          '#applied': 'applied',
          '#topic': 'topic',
          '#partition': 'partition',
          '#offset': 'offset',
        },
        ExpressionAttributeValues: {
          ':true': true,
          ':topic': position.topic,
          ':partition': position.partition,
          ':offset': position.offset,
        },
      }),
    );
    if (!marked) lost.push(position);
  });
  return lost;
}

/**
 * The consumers' DynamoDB client: the default endpoint and credentials in Lambda (traced), or
 * `DYNAMODB_ENDPOINT` for the local engines (dynalite accepts any credentials).
 */
export function dynamoClient(env: NodeJS.ProcessEnv = process.env): DynamoDBClient {
  const endpoint = env.DYNAMODB_ENDPOINT;
  if (endpoint) {
    return new DynamoDBClient({
      endpoint,
      region: env.AWS_REGION ?? 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }
  return tracer.captureAWSv3Client(new DynamoDBClient({}));
}
