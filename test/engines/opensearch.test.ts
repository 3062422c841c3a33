/**
 * The search set-up on a real OpenSearch node (the domain's 3.5 line, from Maven Central), applied
 * by the same applySearchSetup the custom resource runs, and the external versioning the aggregate
 * function relies on.
 *
 * ISM and the security plugin are separate plugins that do not resolve from Maven Central here
 * (org.opensearch.plugin:opensearch-index-management, opensearch-job-scheduler, opensearch-security:
 * not served), so the node runs without them: the ISM policy and the role bodies are applied with
 * `{ ism: false, security: false }` here and validated offline against their documented shape in
 * test/unit/search-setup.test.ts.
 */
import { Client } from '@opensearch-project/opensearch';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { applySearchSetup, type SearchTransport } from '../../lambda/shared/search/apply';
import {
  indexTemplate,
  templateName,
  writerRole,
  type SearchSetupSpec,
} from '../../lambda/shared/search/definitions';
import { indexName } from '../../lambda/shared/search/index-name';
import { LOCAL_OPENSEARCH_VERSION } from '../../lib/config/versions';
import { resolveClasspath } from './harness/maven';
import { LocalOpenSearch, OPENSEARCH_POM_DIR, openSearchJava } from './harness/opensearch';

const spec: SearchSetupSpec = {
  indexPrefix: 'events-aggregates',
  shards: 1,
  replicas: 0,
  retentionDays: 30,
  writerRoleArns: ['arn:aws:iam::123456789012:role/aggregate'],
};
const local = { ism: false, security: false };

let node: LocalOpenSearch;
let client: Client;

beforeAll(async () => {
  node = await LocalOpenSearch.start();
  client = new Client({ node: node.url });
  console.log(
    `OpenSearch ${LOCAL_OPENSEARCH_VERSION}: start to yellow ${node.startMs} ms, RSS ${node.rssMiB()} MiB (heap 512m)`,
  );
});

afterAll(async () => {
  await client?.close();
  await node?.destroy();
});

test('the node runs the pinned release', async () => {
  const root = await client.info();
  expect(root.body.version.number).toBe(LOCAL_OPENSEARCH_VERSION);
});

test('the writer role names actions of this release (the security plugin that checks them cannot run here)', () => {
  // The action names, read from the server jar's classes with javap.
  const jar = join(
    resolveClasspath(OPENSEARCH_POM_DIR).replace(/\/\*$/, ''),
    `opensearch-${LOCAL_OPENSEARCH_VERSION}.jar`,
  );
  const javap = join(dirname(openSearchJava()), 'javap');
  const nameOf = (cls: string): string => {
    const out = execFileSync(javap, ['-constants', '-cp', jar, `org.opensearch.action.${cls}`], {
      encoding: 'utf8',
    });
    return /String NAME = "([^"]+)"/.exec(out)![1]!;
  };
  const names = [
    'bulk.BulkAction',
    'index.IndexAction',
    'admin.indices.create.AutoCreateAction',
    'admin.indices.mapping.put.AutoPutMappingAction',
  ].map(nameOf);
  expect(names).toEqual([
    'indices:data/write/bulk',
    'indices:data/write/index',
    'indices:admin/auto_create',
    'indices:admin/mapping/auto_put',
  ]);
  const role = writerRole(spec);
  expect(role.cluster_permissions).toEqual([names[0]]);
  // bulk* is the bulk and its per-shard action (`indices:data/write/bulk[s]`); the rest exactly these.
  expect(role.index_permissions[0]!.allowed_actions).toEqual([`${names[0]}*`, ...names.slice(1)]);
});

test('the set-up creates the index template, and applying it again changes nothing', async () => {
  const transport: SearchTransport = client.transport;
  expect(await applySearchSetup(transport, spec, local)).toEqual({
    indexTemplate: 'updated',
    ismPolicy: 'skipped',
    writerRole: 'skipped',
    writerRoleMapping: 'skipped',
  });
  const first = (await client.indices.getIndexTemplate({ name: templateName(spec) })).body;
  await applySearchSetup(transport, spec, local);
  const second = (await client.indices.getIndexTemplate({ name: templateName(spec) })).body;
  expect(second).toEqual(first);
  const stored = first.index_templates[0]!.index_template;
  expect(stored.index_patterns).toEqual(['events-aggregates-*']);
  expect(stored.template!.mappings).toEqual(indexTemplate(spec).template.mappings);
  expect(stored.template!.settings).toEqual({ index: { number_of_shards: '1', number_of_replicas: '0' } });
});

describe('an aggregate document in its index', () => {
  const index = indexName(spec.indexPrefix, 'PT1H', '2026-11-25T06:00:00.000Z');
  const windowKey = 'PT1H|2026-11-25T06:00:00.000Z|type|purchase';
  const doc = (version: number, events: number) => ({
    windowKey,
    windowSize: 'PT1H',
    windowStart: '2026-11-25T06:00:00.000Z',
    windowEnd: '2026-11-25T07:00:00.000Z',
    dimension: 'type',
    value: 'purchase',
    events,
    users: 2,
    revenueCents: { EUR: 129900, USD: 500 },
    updatedAt: '2026-11-25T06:10:00.000Z',
    version,
  });
  const put = (version: number, events: number) =>
    client.index(
      { index, id: windowKey, version, version_type: 'external', body: doc(version, events) },
      { ignore: [409] },
    );

  beforeAll(async () => {
    await applySearchSetup(client.transport, spec, local);
  });

  test('is created under the template (index auto-created, currencies mapped as long)', async () => {
    expect(index).toBe('events-aggregates-pt1h-2026.11');
    const created = await put(2, 7);
    expect(created.statusCode).toBe(201);
    const mapping = (await client.indices.getMapping({ index })).body[index]!.mappings;
    const properties = mapping.properties!;
    expect(properties.revenueCents).toEqual({
      dynamic: 'true',
      properties: { EUR: { type: 'long' }, USD: { type: 'long' } },
    });
    expect(properties.windowStart).toEqual({ type: 'date' });
    expect(properties.windowKey).toEqual({ type: 'keyword' });
  });

  test('an unknown field is refused (dynamic: strict)', async () => {
    const res = await client.index(
      { index, id: 'stray', body: { ...doc(1, 1), windowKey: 'stray', extra: 1 } },
      { ignore: [400] },
    );
    expect(res.statusCode).toBe(400);
    expect((res.body as unknown as { error: { type: string } }).error.type).toBe(
      'strict_dynamic_mapping_exception',
    );
  });

  test('external versioning: an older or the same version is a 409 and the newer state stays', async () => {
    const older = await put(1, 3);
    expect(older.statusCode).toBe(409);
    const same = await put(2, 99);
    expect(same.statusCode).toBe(409);
    const stored = await client.get({ index, id: windowKey });
    expect(stored.body._version).toBe(2);
    expect(stored.body._source).toEqual(doc(2, 7));
    const newer = await put(3, 8);
    expect(newer.statusCode).toBe(200);
    expect((await client.get({ index, id: windowKey })).body._source).toEqual(doc(3, 8));
  });

  test('a 409 is told apart per item in a bulk response', async () => {
    const other = 'PT1H|2026-11-25T06:00:00.000Z|type|click';
    const res = await client.bulk({
      body: [
        { index: { _index: index, _id: windowKey, version: 2, version_type: 'external' } },
        doc(2, 1),
        { index: { _index: index, _id: other, version: 1, version_type: 'external' } },
        { ...doc(1, 4), windowKey: other, value: 'click' },
      ],
    });
    expect(res.statusCode).toBe(200);
    expect(res.body.errors).toBe(true);
    const items = (res.body.items as { index: { status: number; error?: { type: string } } }[]).map((i) => ({
      status: i.index.status,
      error: i.index.error?.type,
    }));
    expect(items).toEqual([
      { status: 409, error: 'version_conflict_engine_exception' },
      { status: 201, error: undefined },
    ]);
    expect((await client.get({ index, id: windowKey })).body._source).toEqual(doc(3, 8));
  });

  test('a bulk alone creates the month index and maps a new currency (the auto-create and auto-put-mapping path)', async () => {
    const december = indexName(spec.indexPrefix, 'PT1H', '2026-12-01T00:00:00.000Z');
    const res = await client.transport.request({
      method: 'POST',
      path: '/_bulk',
      bulkBody: [
        { index: { _index: december, _id: windowKey, version: 1, version_type: 'external' } },
        { ...doc(1, 1), revenueCents: { GBP: 700 } },
      ],
    });
    expect(res.statusCode).toBe(200);
    expect((res.body as { errors: boolean }).errors).toBe(false);
    const mapping = (await client.indices.getMapping({ index: december })).body[december]!.mappings;
    expect(mapping.properties!.revenueCents).toEqual({
      dynamic: 'true',
      properties: { GBP: { type: 'long' } },
    });
  });

  test('the data survives a restart on the same data dir', async () => {
    await node.restart();
    console.log(`OpenSearch restart to yellow ${node.startMs} ms`);
    const stored = await client.get({ index, id: windowKey });
    expect(stored.body._version).toBe(3);
    expect(stored.body._source).toEqual(doc(3, 8));
  });
});
