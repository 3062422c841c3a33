/**
 * What the search set-up puts on a domain (or the local node): the index template of the
 * aggregates' indices, the ISM retention policy, and the security role of the writers with its
 * mapping to their IAM roles. Plain data: lambda/search-setup applies it at deploy, the engine
 * tests apply it to the local node, the unit tests compare it whole.
 */
import { indexPattern } from './index-name';

export interface SearchSetupSpec {
  /** Index name prefix (`events-aggregates`): indices are `<prefix>-<size>-<yyyy.mm>`. */
  readonly indexPrefix: string;
  /** Primary shards per index (one month of one window size). */
  readonly shards: number;
  /** Replicas per shard: 0 on one data node, at least 1 with more. */
  readonly replicas: number;
  /** Every window stays searchable at least this many days. */
  readonly retentionDays: number;
  /** IAM role ARNs mapped to the writer role (the aggregate function's role). */
  readonly writerRoleArns: readonly string[];
}

/** The security role the aggregate function writes with. */
export const WRITER_ROLE = 'events_aggregates_writer';

export function templateName(spec: SearchSetupSpec): string {
  return spec.indexPrefix;
}

export function ismPolicyId(spec: SearchSetupSpec): string {
  return `${spec.indexPrefix}-retention`;
}

export function validateSpec(spec: SearchSetupSpec): void {
  indexPattern(spec.indexPrefix);
  if (!Number.isInteger(spec.shards) || spec.shards < 1) throw new Error(`shards must be an integer >= 1`);
  if (!Number.isInteger(spec.replicas) || spec.replicas < 0)
    throw new Error(`replicas must be an integer >= 0`);
  if (!Number.isInteger(spec.retentionDays) || spec.retentionDays < 1)
    throw new Error(`retentionDays must be an integer >= 1`);
  for (const arn of spec.writerRoleArns) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(arn)) throw new Error(`not an IAM role ARN: ${arn}`);
  }
}

/**
 * The composable index template of `<prefix>-*`: the events.aggregates record's fields, nothing
 * else (`dynamic: strict`), with `revenueCents` an object of currency -> minor units (long).
 */
export function indexTemplate(spec: SearchSetupSpec) {
  return {
    index_patterns: [indexPattern(spec.indexPrefix)],
    priority: 100,
    template: {
      settings: {
        index: {
          number_of_shards: spec.shards,
          number_of_replicas: spec.replicas,
        },
      },
      mappings: {
        dynamic: 'strict',
        dynamic_templates: [
          {
            revenue_cents_per_currency: {
              path_match: 'revenueCents.*',
              mapping: { type: 'long' },
            },
          },
        ],
        properties: {
          windowKey: { type: 'keyword' },
          windowSize: { type: 'keyword' },
          windowStart: { type: 'date' },
          windowEnd: { type: 'date' },
          dimension: { type: 'keyword' },
          value: { type: 'keyword' },
          events: { type: 'long' },
          users: { type: 'long' },
          revenueCents: { type: 'object', dynamic: true },
          updatedAt: { type: 'date' },
          version: { type: 'long' },
        },
      },
    },
  };
}

/**
 * Index age in days at which ISM deletes an index: an index holds one calendar month of windows
 * and is created by its first write, so its last window is at most 31 days younger than the index.
 */
export function deleteAfterDays(spec: SearchSetupSpec): number {
  return spec.retentionDays + 31;
}

/** The ISM policy (PUT `_plugins/_ism/policies/<id>`): delete `<prefix>-*` indices when old enough. */
export function ismPolicy(spec: SearchSetupSpec) {
  const days = deleteAfterDays(spec);
  return {
    policy: {
      description: `${indexPattern(spec.indexPrefix)}: delete ${days} days after creation (windows kept at least ${spec.retentionDays} days)`,
      default_state: 'hot',
      states: [
        {
          name: 'hot',
          actions: [],
          transitions: [{ state_name: 'delete', conditions: { min_index_age: `${days}d` } }],
        },
        {
          name: 'delete',
          actions: [{ delete: {} }],
          transitions: [],
        },
      ],
      ism_template: [{ index_patterns: [indexPattern(spec.indexPrefix)], priority: 100 }],
    },
  };
}

/**
 * The writer role (PUT `_plugins/_security/api/roles/events_aggregates_writer`): bulk index
 * operations on `<prefix>-*`, creating the month's index on its first write and mapping a new
 * currency under `revenueCents`. No read, delete or update. The bulk action is checked once at the
 * cluster level, then per shard on each index. A bulk creates a missing index through
 * `indices:admin/auto_create` and maps a new field through `indices:admin/mapping/auto_put` (the
 * action names of OpenSearch's AutoCreateAction and AutoPutMappingAction); the writer sends only
 * bulk requests, so the explicit create-index and put-mapping actions are not granted.
 */
export function writerRole(spec: SearchSetupSpec) {
  return {
    cluster_permissions: ['indices:data/write/bulk'],
    index_permissions: [
      {
        index_patterns: [indexPattern(spec.indexPrefix)],
        allowed_actions: [
          'indices:data/write/bulk*',
          'indices:data/write/index',
          'indices:admin/auto_create',
          'indices:admin/mapping/auto_put',
        ],
      },
    ],
  };
}

/** The role mapping (PUT `_plugins/_security/api/rolesmapping/events_aggregates_writer`). */
export function writerRoleMapping(spec: SearchSetupSpec) {
  return {
    backend_roles: [...spec.writerRoleArns],
    hosts: [],
    users: [],
  };
}
