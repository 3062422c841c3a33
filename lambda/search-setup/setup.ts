/**
 * The search set-up as a custom resource (lib/events/search-domain.ts): on Create and Update,
 * applySearchSetup with the domain's ISM and security plugins; on Delete nothing (the indices,
 * the policy and the role stay with the retained domain).
 */
import { applySearchSetup, type SearchSetupResult, type SearchTransport } from '../shared/search/apply';
import type { SearchSetupSpec } from '../shared/search/definitions';

/** CloudFormation passes every property as a string. */
export interface SearchSetupProperties {
  /** `https://<domain endpoint>`. */
  readonly Endpoint: string;
  readonly IndexPrefix: string;
  readonly Shards: string;
  readonly Replicas: string;
  readonly RetentionDays: string;
  /** JSON array of IAM role ARNs. */
  readonly WriterRoleArns: string;
}

export interface SearchSetupEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: SearchSetupProperties;
}

export interface SearchSetupResponse {
  readonly PhysicalResourceId: string;
  readonly Data: Partial<SearchSetupResult>;
}

function integer(name: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`${name} must be a non-negative integer, got '${text}'`);
  return Number(text);
}

export function specFrom(p: SearchSetupProperties): SearchSetupSpec {
  const arns: unknown = JSON.parse(p.WriterRoleArns);
  if (!Array.isArray(arns) || !arns.every((a) => typeof a === 'string'))
    throw new Error('WriterRoleArns must be a JSON array of strings');
  return {
    indexPrefix: p.IndexPrefix,
    shards: integer('Shards', p.Shards),
    replicas: integer('Replicas', p.Replicas),
    retentionDays: integer('RetentionDays', p.RetentionDays),
    writerRoleArns: arns,
  };
}

export async function setUpSearch(
  event: SearchSetupEvent,
  transportFor: (endpoint: string) => SearchTransport,
): Promise<SearchSetupResponse> {
  const p = event.ResourceProperties;
  const physicalId = `${p.Endpoint}/${p.IndexPrefix}`;
  if (event.RequestType === 'Delete')
    return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId, Data: {} };
  const result = await applySearchSetup(transportFor(p.Endpoint), specFrom(p), { ism: true, security: true });
  return { PhysicalResourceId: physicalId, Data: result };
}
