/**
 * Kafka ACLs as the platform declares them (for SASL/SCRAM clients; IAM clients are authorized by
 * IAM policies and ignore ACLs). Pure TypeScript: the construct declares them, the ACL function
 * applies them, the engine test proves them on a real broker with an authorizer.
 */
export type AclOperation = 'READ' | 'WRITE' | 'DESCRIBE' | 'CREATE' | 'IDEMPOTENT_WRITE';

export interface KafkaAcl {
  readonly resourceType: 'TOPIC' | 'GROUP' | 'CLUSTER';
  readonly resourceName: string;
  readonly patternType: 'LITERAL' | 'PREFIXED';
  /** `User:<name>`. */
  readonly principal: string;
  /** @default '*' */
  readonly host?: string;
  readonly operation: AclOperation;
  readonly permission: 'ALLOW' | 'DENY';
}

/** A producer that may write one topic and nothing else (WRITE implies the idempotent producer's rights). */
export function producerAcls(user: string, topic: string): KafkaAcl[] {
  return (['WRITE', 'DESCRIBE'] as const).map((operation) => ({
    resourceType: 'TOPIC',
    resourceName: topic,
    patternType: 'LITERAL',
    principal: `User:${user}`,
    host: '*',
    operation,
    permission: 'ALLOW',
  }));
}

/** A stable text key of an ACL, for set differences. */
export function aclKey(acl: KafkaAcl): string {
  return [
    acl.resourceType,
    acl.patternType,
    acl.resourceName,
    acl.principal,
    acl.host ?? '*',
    acl.operation,
    acl.permission,
  ].join('|');
}

/** Parses the JSON the custom resource carries, refusing anything that is not a list of ACLs. */
export function parseAcls(json: unknown): KafkaAcl[] {
  const list: unknown = typeof json === 'string' ? JSON.parse(json) : json;
  if (!Array.isArray(list)) throw new Error('Acls must be a JSON array');
  return list.map((item, i) => {
    const a = item as Partial<KafkaAcl>;
    const ok =
      ['TOPIC', 'GROUP', 'CLUSTER'].includes(a.resourceType ?? '') &&
      typeof a.resourceName === 'string' &&
      a.resourceName.length > 0 &&
      ['LITERAL', 'PREFIXED'].includes(a.patternType ?? '') &&
      typeof a.principal === 'string' &&
      /^User:.+/.test(a.principal) &&
      ['READ', 'WRITE', 'DESCRIBE', 'CREATE', 'IDEMPOTENT_WRITE'].includes(a.operation ?? '') &&
      ['ALLOW', 'DENY'].includes(a.permission ?? '');
    if (!ok) throw new Error(`Acls[${i}] is not a valid ACL: ${JSON.stringify(item)}`);
    return { ...(a as KafkaAcl), host: a.host ?? '*' };
  });
}
