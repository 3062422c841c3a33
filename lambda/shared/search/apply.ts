/**
 * Applies the search set-up (./definitions.ts) through an OpenSearch transport: the client's
 * `transport` (`new Client(...).transport`) or any object with the same `request`. Idempotent:
 * applying the same spec again leaves the same state (PUTs of the same bodies; the ISM policy is
 * left alone when it already says the same, and updated with its sequence number otherwise).
 */
import {
  indexTemplate,
  ismPolicy,
  ismPolicyId,
  templateName,
  validateSpec,
  writerRole,
  writerRoleMapping,
  WRITER_ROLE,
  type SearchSetupSpec,
} from './definitions';

/** The part of `@opensearch-project/opensearch`'s Transport the set-up uses. */
export interface SearchTransport {
  request(
    params: {
      method: string;
      path: string;
      body?: Record<string, unknown>;
      querystring?: Record<string, unknown>;
    },
    options?: { ignore?: number[] },
  ): Promise<{ statusCode: number | null; body: unknown }>;
}

/** Which plugin APIs to call: OpenSearch Service has both; the local node has neither. */
export interface SearchSetupParts {
  /** Index State Management (`_plugins/_ism`). */
  readonly ism: boolean;
  /** The security plugin's REST API (`_plugins/_security/api`). */
  readonly security: boolean;
}

export type SetupOutcome = 'created' | 'updated' | 'unchanged' | 'skipped';

export interface SearchSetupResult {
  readonly indexTemplate: SetupOutcome;
  readonly ismPolicy: SetupOutcome;
  readonly writerRole: SetupOutcome;
  readonly writerRoleMapping: SetupOutcome;
}

interface StoredPolicy {
  readonly _seq_no: number;
  readonly _primary_term: number;
  readonly policy: {
    readonly description?: string;
    readonly ism_template?: readonly { index_patterns: string[]; priority: number }[] | null;
  };
}

function putOutcome(statusCode: number | null): SetupOutcome {
  return statusCode === 201 ? 'created' : 'updated';
}

/** True when the stored policy says what the desired one says (its description names the pattern and ages). */
function samePolicy(stored: StoredPolicy, desired: ReturnType<typeof ismPolicy>): boolean {
  const templates = (stored.policy.ism_template ?? []).map((t) => ({
    index_patterns: t.index_patterns,
    priority: t.priority,
  }));
  return (
    stored.policy.description === desired.policy.description &&
    JSON.stringify(templates) === JSON.stringify(desired.policy.ism_template)
  );
}

export async function applySearchSetup(
  transport: SearchTransport,
  spec: SearchSetupSpec,
  parts: SearchSetupParts,
): Promise<SearchSetupResult> {
  validateSpec(spec);
  const template = await transport.request({
    method: 'PUT',
    path: `/_index_template/${templateName(spec)}`,
    body: indexTemplate(spec),
  });
  // PUT of an index template answers 200 whether it existed or not.
  const result: { -readonly [K in keyof SearchSetupResult]: SetupOutcome } = {
    indexTemplate: template.statusCode === 200 ? 'updated' : putOutcome(template.statusCode),
    ismPolicy: 'skipped',
    writerRole: 'skipped',
    writerRoleMapping: 'skipped',
  };

  if (parts.ism) {
    const path = `/_plugins/_ism/policies/${ismPolicyId(spec)}`;
    const desired = ismPolicy(spec);
    const stored = await transport.request({ method: 'GET', path }, { ignore: [404] });
    if (stored.statusCode === 404) {
      result.ismPolicy = putOutcome(
        (await transport.request({ method: 'PUT', path, body: desired })).statusCode,
      );
    } else if (samePolicy(stored.body as StoredPolicy, desired)) {
      result.ismPolicy = 'unchanged';
    } else {
      const { _seq_no, _primary_term } = stored.body as StoredPolicy;
      await transport.request({
        method: 'PUT',
        path,
        body: desired,
        querystring: { if_seq_no: _seq_no, if_primary_term: _primary_term },
      });
      result.ismPolicy = 'updated';
    }
  }

  if (parts.security) {
    const role = await transport.request({
      method: 'PUT',
      path: `/_plugins/_security/api/roles/${WRITER_ROLE}`,
      body: writerRole(spec),
    });
    result.writerRole = putOutcome(role.statusCode);
    const mapping = await transport.request({
      method: 'PUT',
      path: `/_plugins/_security/api/rolesmapping/${WRITER_ROLE}`,
      body: writerRoleMapping(spec),
    });
    result.writerRoleMapping = putOutcome(mapping.statusCode);
  }
  return result;
}
