/** Applies declared Kafka ACLs with the admin API: create what is declared, delete what no longer is. */
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  ResourcePatternTypes,
  type AclEntry,
  type Admin,
} from 'kafkajs';
import { aclKey, type KafkaAcl } from '../../lib/kafka/acl-model';

export function toAclEntry(acl: KafkaAcl): AclEntry {
  return {
    resourceType: AclResourceTypes[acl.resourceType],
    resourceName: acl.resourceName,
    resourcePatternType: ResourcePatternTypes[acl.patternType],
    principal: acl.principal,
    host: acl.host ?? '*',
    operation: AclOperationTypes[acl.operation],
    permissionType: AclPermissionTypes[acl.permission],
  };
}

export interface AclChange {
  readonly created: number;
  readonly deleted: number;
}

/**
 * Makes the broker hold `desired` and no longer hold what is in `previous` but not in `desired`.
 * Creating an existing ACL is a no-op for Kafka, so a retried or replayed event is harmless.
 */
export async function syncAcls(
  admin: Admin,
  desired: readonly KafkaAcl[],
  previous: readonly KafkaAcl[] = [],
): Promise<AclChange> {
  const keep = new Set(desired.map(aclKey));
  const stale = previous.filter((acl) => !keep.has(aclKey(acl)));
  if (desired.length > 0) await admin.createAcls({ acl: desired.map(toAclEntry) });
  if (stale.length > 0) await admin.deleteAcls({ filters: stale.map(toAclEntry) });
  return { created: desired.length, deleted: stale.length };
}
