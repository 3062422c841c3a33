/**
 * The search set-up without engines: index names, the bodies compared whole with hand-written
 * expectations, and the requests the custom resource sends. The local node has no ISM or security
 * plugin (neither resolves from Maven Central here), so the ISM policy, the role and the role
 * mapping are checked here against the documented request shapes: ISM "Create policy"
 * (PUT _plugins/_ism/policies/<id>), security "Create or update role" (PUT
 * _plugins/_security/api/roles/<name>) and "Create or update role mapping" (PUT
 * _plugins/_security/api/rolesmapping/<name>), docs.opensearch.org.
 */
import { applySearchSetup, type SearchTransport } from '../../lambda/shared/search/apply';
import {
  indexTemplate,
  ismPolicy,
  writerRole,
  writerRoleMapping,
  type SearchSetupSpec,
} from '../../lambda/shared/search/definitions';
import { indexName, indexPattern } from '../../lambda/shared/search/index-name';
import { setUpSearch, specFrom, type SearchSetupProperties } from '../../lambda/search-setup/setup';

const WRITER = 'arn:aws:iam::123456789012:role/platform-dev-events-AggregateRole';
const spec: SearchSetupSpec = {
  indexPrefix: 'events-aggregates',
  shards: 2,
  replicas: 1,
  retentionDays: 90,
  writerRoleArns: [WRITER],
};

describe('index names', () => {
  test('prefix, lowercased window size and the UTC month of the window start', () => {
    expect(indexName('events-aggregates', 'PT1M', '2026-11-25T06:33:00.000Z')).toBe(
      'events-aggregates-pt1m-2026.11',
    );
    expect(indexName('events-aggregates', 'PT1H', '2026-01-01T00:00:00.000Z')).toBe(
      'events-aggregates-pt1h-2026.01',
    );
    // The month of the start, in UTC, whatever the window's end.
    expect(indexName('events-aggregates', 'PT1H', '2026-12-31T23:00:00.000Z')).toBe(
      'events-aggregates-pt1h-2026.12',
    );
    expect(indexName('events-aggregates', 'P1D', Date.UTC(2027, 1, 28))).toBe(
      'events-aggregates-p1d-2027.02',
    );
  });

  test('every name matches the template pattern', () => {
    expect(indexPattern('events-aggregates')).toBe('events-aggregates-*');
  });

  test('invalid inputs are refused', () => {
    expect(() => indexName('Events', 'PT1M', 0)).toThrow("invalid index prefix 'Events'");
    expect(() => indexName('events-', 'PT1M', 0)).toThrow("invalid index prefix 'events-'");
    expect(() => indexName('events', 'pt1m', 0)).toThrow("invalid window size 'pt1m'");
    expect(() => indexName('events', 'PT1M', 'yesterday')).toThrow("invalid window start 'yesterday'");
  });
});

describe('bodies', () => {
  test('the index template', () => {
    expect(indexTemplate(spec)).toEqual({
      index_patterns: ['events-aggregates-*'],
      priority: 100,
      template: {
        settings: { index: { number_of_shards: 2, number_of_replicas: 1 } },
        mappings: {
          dynamic: 'strict',
          dynamic_templates: [
            { revenue_cents_per_currency: { path_match: 'revenueCents.*', mapping: { type: 'long' } } },
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
    });
  });

  test('the ISM policy deletes an index 31 days after the retention (a month of windows per index)', () => {
    expect(ismPolicy(spec)).toEqual({
      policy: {
        description: 'events-aggregates-*: delete 121 days after creation (windows kept at least 90 days)',
        default_state: 'hot',
        states: [
          {
            name: 'hot',
            actions: [],
            transitions: [{ state_name: 'delete', conditions: { min_index_age: '121d' } }],
          },
          { name: 'delete', actions: [{ delete: {} }], transitions: [] },
        ],
        ism_template: [{ index_patterns: ['events-aggregates-*'], priority: 100 }],
      },
    });
  });

  test('the writer role: bulk index on the pattern, auto-creating the index and new currency fields; nothing else', () => {
    expect(writerRole(spec)).toEqual({
      cluster_permissions: ['indices:data/write/bulk'],
      index_permissions: [
        {
          index_patterns: ['events-aggregates-*'],
          allowed_actions: [
            'indices:data/write/bulk*',
            'indices:data/write/index',
            'indices:admin/auto_create',
            'indices:admin/mapping/auto_put',
          ],
        },
      ],
    });
  });

  test('the role mapping: the writers by IAM role ARN (backend role), no users, no hosts', () => {
    expect(writerRoleMapping(spec)).toEqual({ backend_roles: [WRITER], hosts: [], users: [] });
  });
});

/** The documented request body fields (docs.opensearch.org, see the header). */
const DOCUMENTED = {
  ismPolicy: ['description', 'default_state', 'states', 'ism_template', 'error_notification'],
  ismState: ['name', 'actions', 'transitions'],
  ismTransition: ['state_name', 'conditions'],
  ismConditions: ['min_index_age', 'min_rollover_age', 'min_doc_count', 'min_size', 'cron'],
  ismTemplate: ['index_patterns', 'priority', 'last_updated_time'],
  role: ['description', 'cluster_permissions', 'index_permissions', 'tenant_permissions'],
  indexPermission: ['index_patterns', 'dls', 'fls', 'masked_fields', 'allowed_actions'],
  roleMapping: ['users', 'backend_roles', 'and_backend_roles', 'hosts', 'description', 'hidden', 'reserved'],
};
const keysWithin = (value: object, allowed: readonly string[]) =>
  Object.keys(value).filter((k) => !allowed.includes(k));

test('the plugin bodies use only documented fields, with the required ones present', () => {
  const { policy } = ismPolicy(spec);
  expect(keysWithin(policy, DOCUMENTED.ismPolicy)).toEqual([]);
  expect(policy.states.map((s) => s.name)).toContain(policy.default_state);
  for (const state of policy.states) {
    expect(keysWithin(state, DOCUMENTED.ismState)).toEqual([]);
    for (const t of state.transitions) {
      expect(keysWithin(t, DOCUMENTED.ismTransition)).toEqual([]);
      expect(keysWithin(t.conditions, DOCUMENTED.ismConditions)).toEqual([]);
      expect(policy.states.map((s) => s.name)).toContain(t.state_name);
    }
  }
  for (const t of policy.ism_template) expect(keysWithin(t, DOCUMENTED.ismTemplate)).toEqual([]);
  const role = writerRole(spec);
  expect(keysWithin(role, DOCUMENTED.role)).toEqual([]);
  for (const p of role.index_permissions) expect(keysWithin(p, DOCUMENTED.indexPermission)).toEqual([]);
  expect(keysWithin(writerRoleMapping(spec), DOCUMENTED.roleMapping)).toEqual([]);
});

/** A transport that records each request and answers from a script. */
function recordingTransport(answers: Record<string, { statusCode: number; body?: unknown }>) {
  const sent: { method: string; path: string; body?: unknown; querystring?: unknown }[] = [];
  const transport: SearchTransport = {
    request: (params, options) => {
      sent.push(params);
      const answer = answers[`${params.method} ${params.path}`] ?? { statusCode: 200, body: {} };
      if (answer.statusCode >= 400 && !(options?.ignore ?? []).includes(answer.statusCode)) {
        return Promise.reject(new Error(`HTTP ${answer.statusCode}`));
      }
      return Promise.resolve({ statusCode: answer.statusCode, body: answer.body ?? {} });
    },
  };
  return { transport, sent };
}

const POLICY = '/_plugins/_ism/policies/events-aggregates-retention';
const ROLE = '/_plugins/_security/api/roles/events_aggregates_writer';
const MAPPING = '/_plugins/_security/api/rolesmapping/events_aggregates_writer';

describe('applySearchSetup', () => {
  test('on a fresh domain: the template, the policy (after a 404), the role and its mapping', async () => {
    const { transport, sent } = recordingTransport({
      [`GET ${POLICY}`]: { statusCode: 404 },
      [`PUT ${POLICY}`]: { statusCode: 201 },
      [`PUT ${ROLE}`]: { statusCode: 201 },
      [`PUT ${MAPPING}`]: { statusCode: 201 },
    });
    expect(await applySearchSetup(transport, spec, { ism: true, security: true })).toEqual({
      indexTemplate: 'updated',
      ismPolicy: 'created',
      writerRole: 'created',
      writerRoleMapping: 'created',
    });
    expect(sent).toEqual([
      { method: 'PUT', path: '/_index_template/events-aggregates', body: indexTemplate(spec) },
      { method: 'GET', path: POLICY },
      { method: 'PUT', path: POLICY, body: ismPolicy(spec) },
      { method: 'PUT', path: ROLE, body: writerRole(spec) },
      { method: 'PUT', path: MAPPING, body: writerRoleMapping(spec) },
    ]);
  });

  test('again: the policy as stored (with the fields ISM adds) is left alone', async () => {
    const stored = {
      _id: 'events-aggregates-retention',
      _seq_no: 4,
      _primary_term: 1,
      policy: {
        ...ismPolicy(spec).policy,
        policy_id: 'events-aggregates-retention',
        last_updated_time: 1764000000000,
        schema_version: 21,
        error_notification: null,
        ism_template: [
          { index_patterns: ['events-aggregates-*'], priority: 100, last_updated_time: 1764000000000 },
        ],
      },
    };
    const { transport, sent } = recordingTransport({ [`GET ${POLICY}`]: { statusCode: 200, body: stored } });
    const result = await applySearchSetup(transport, spec, { ism: true, security: true });
    expect(result.ismPolicy).toBe('unchanged');
    expect(sent.filter((r) => r.path === POLICY).map((r) => r.method)).toEqual(['GET']);
  });

  test('a changed retention updates the policy under its sequence number', async () => {
    const stored = { _seq_no: 4, _primary_term: 1, policy: ismPolicy({ ...spec, retentionDays: 30 }).policy };
    const { transport, sent } = recordingTransport({ [`GET ${POLICY}`]: { statusCode: 200, body: stored } });
    expect((await applySearchSetup(transport, spec, { ism: true, security: false })).ismPolicy).toBe(
      'updated',
    );
    expect(sent.filter((r) => r.path === POLICY)).toEqual([
      { method: 'GET', path: POLICY },
      {
        method: 'PUT',
        path: POLICY,
        body: ismPolicy(spec),
        querystring: { if_seq_no: 4, if_primary_term: 1 },
      },
    ]);
    expect(sent.some((r) => r.path.startsWith('/_plugins/_security'))).toBe(false);
  });

  test('an invalid spec sends nothing', async () => {
    const { transport, sent } = recordingTransport({});
    await expect(
      applySearchSetup(transport, { ...spec, replicas: -1 }, { ism: true, security: true }),
    ).rejects.toThrow('replicas must be an integer >= 0');
    await expect(
      applySearchSetup(
        transport,
        { ...spec, writerRoleArns: ['arn:aws:iam::123456789012:user/x'] },
        {
          ism: true,
          security: true,
        },
      ),
    ).rejects.toThrow('not an IAM role ARN: arn:aws:iam::123456789012:user/x');
    expect(sent).toEqual([]);
  });
});

describe('the custom resource', () => {
  const properties: SearchSetupProperties = {
    Endpoint: 'https://vpc-platform-dev-events-abc.eu-west-1.es.amazonaws.com',
    IndexPrefix: 'events-aggregates',
    Shards: '2',
    Replicas: '1',
    RetentionDays: '90',
    WriterRoleArns: JSON.stringify([WRITER]),
  };

  test('reads its string properties into the spec', () => {
    expect(specFrom(properties)).toEqual(spec);
    expect(() => specFrom({ ...properties, Shards: 'two' })).toThrow(
      "Shards must be a non-negative integer, got 'two'",
    );
    expect(() => specFrom({ ...properties, WriterRoleArns: '"x"' })).toThrow(
      'WriterRoleArns must be a JSON array of strings',
    );
  });

  test('Create applies everything on the given endpoint', async () => {
    const { transport, sent } = recordingTransport({ [`GET ${POLICY}`]: { statusCode: 404 } });
    const endpoints: string[] = [];
    const response = await setUpSearch(
      { RequestType: 'Create', ResourceProperties: properties },
      (endpoint) => {
        endpoints.push(endpoint);
        return transport;
      },
    );
    expect(endpoints).toEqual([properties.Endpoint]);
    expect(response.PhysicalResourceId).toBe(`${properties.Endpoint}/events-aggregates`);
    expect(sent.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /_index_template/events-aggregates',
      `GET ${POLICY}`,
      `PUT ${POLICY}`,
      `PUT ${ROLE}`,
      `PUT ${MAPPING}`,
    ]);
  });

  test('Delete sends nothing: indices, policy and role stay with the domain', async () => {
    const { transport, sent } = recordingTransport({});
    const response = await setUpSearch(
      { RequestType: 'Delete', PhysicalResourceId: 'the-id', ResourceProperties: properties },
      () => transport,
    );
    expect(response).toEqual({ PhysicalResourceId: 'the-id', Data: {} });
    expect(sent).toEqual([]);
  });
});
