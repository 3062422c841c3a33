/**
 * The CDC custom resources' logic against mocks: the MSK Connect control plane and RDS cannot run
 * here (no AWS endpoint is reachable and MSK Connect has no local edition), so the connector
 * handler runs against an in-memory MSK Connect that behaves as its API documents (names unique
 * while a connector exists, create and delete take several polls), and the database set-up against
 * a recording session. What MSK Connect itself does is in docs/runbooks/cdc-connector-upgrade.md;
 * the same statements run on a real PostgreSQL in test/engines/cdc.test.ts.
 */
import type {
  ConnectorDetails,
  ConnectorSpec,
  ConnectorSummary,
  MskConnectApi,
} from '../../lambda/cdc/connector/msk-connect';
import {
  isComplete,
  onEvent,
  replacingChanges,
  type ConnectorEvent,
  type Operation,
} from '../../lambda/cdc/connector/replace';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mskConnectApi } from '../../lambda/cdc/connector/msk-connect';
import { readCredentialsSecret } from '../../lambda/cdc/database-setup/secrets';
import { setUpDatabase, type DatabaseSetupEvent } from '../../lambda/cdc/database-setup/setup';
import { renderSourceDatabaseSetup } from '../../lib/cdc/source-database';
import { SecretsManagerStub } from '../engines/harness/secrets-manager-stub';

/** An in-memory MSK Connect: CREATING and DELETING last `pollsPerTransition` describes/lists. */
class FakeMskConnect implements MskConnectApi {
  readonly connectors: (ConnectorDetails & { spec: ConnectorSpec; polls: number })[] = [];
  readonly calls: string[] = [];
  private next = 1;
  constructor(
    private readonly pollsPerTransition = 2,
    private readonly failOnStart = false,
  ) {}

  private tick(): void {
    for (const c of [...this.connectors]) {
      if (
        c.connectorState !== 'CREATING' &&
        c.connectorState !== 'DELETING' &&
        c.connectorState !== 'UPDATING'
      )
        continue;
      c.polls++;
      if (c.polls < this.pollsPerTransition) continue;
      if (c.connectorState === 'DELETING') this.connectors.splice(this.connectors.indexOf(c), 1);
      else Object.assign(c, { connectorState: this.failOnStart ? 'FAILED' : 'RUNNING', polls: 0 });
    }
  }

  connectorsNamed(name: string): Promise<ConnectorSummary[]> {
    this.calls.push(`list ${name}`);
    this.tick();
    return Promise.resolve(
      this.connectors
        .filter((c) => c.connectorName === name)
        .map(({ connectorArn, connectorName, connectorState, currentVersion }) => ({
          connectorArn,
          connectorName,
          connectorState,
          currentVersion,
        })),
    );
  }
  describe(arn: string): Promise<ConnectorDetails | undefined> {
    this.calls.push(`describe ${arn}`);
    this.tick();
    return Promise.resolve(this.connectors.find((c) => c.connectorArn === arn));
  }
  create(spec: ConnectorSpec): Promise<{ connectorArn: string }> {
    this.calls.push(`create ${spec.connectorName}`);
    if (this.connectors.some((c) => c.connectorName === spec.connectorName))
      return Promise.reject(new Error('ConflictException: a resource with this name already exists'));
    const connectorArn = `arn:aws:kafkaconnect:eu-west-1:123456789012:connector/${spec.connectorName}/id-${this.next++}`;
    this.connectors.push({
      connectorArn,
      connectorName: spec.connectorName,
      connectorState: 'CREATING',
      currentVersion: 'v1',
      spec,
      polls: 0,
    });
    return Promise.resolve({ connectorArn });
  }
  updateConfiguration(
    arn: string,
    currentVersion: string,
    configuration: Record<string, string>,
  ): Promise<void> {
    this.calls.push(`update ${arn} ${currentVersion}`);
    const c = this.connectors.find((x) => x.connectorArn === arn)!;
    Object.assign(c, {
      connectorState: 'UPDATING',
      currentVersion: 'v2',
      spec: { ...c.spec, connectorConfiguration: configuration },
      polls: 0,
    });
    return Promise.resolve();
  }
  remove(arn: string, currentVersion: string): Promise<void> {
    this.calls.push(`delete ${arn} ${currentVersion}`);
    const c = this.connectors.find((x) => x.connectorArn === arn)!;
    Object.assign(c, { connectorState: 'DELETING', polls: 0 });
    return Promise.resolve();
  }
}

const NAME = 'streaming-dev-orders-cdc';

function spec(overrides: Partial<ConnectorSpec> = {}): ConnectorSpec {
  return {
    connectorName: NAME,
    capacity: { provisionedCapacity: { mcuCount: 1, workerCount: 1 } },
    connectorConfiguration: { 'snapshot.mode': 'initial', 'slot.name': 'platform_cdc' },
    plugins: [{ customPlugin: { customPluginArn: 'arn:plugin/debezium-3-7-0-final-aaaaaaaa', revision: 1 } }],
    workerConfiguration: {
      workerConfigurationArn: 'arn:worker/streaming-dev-orders-cdc-worker-11111111',
      revision: 1,
    },
    ...overrides,
  };
}

const props = (s: ConnectorSpec) => ({ Connector: JSON.stringify(s) });

/** Runs onEvent, then isComplete until it completes (at most `maxPolls`), as the Provider framework does. */
async function run(
  api: FakeMskConnect,
  event: ConnectorEvent,
  maxPolls = 20,
): Promise<{ operation: Operation; polls: number; arn?: string }> {
  const started = await onEvent(event, api);
  expect(started.PhysicalResourceId).toBe(NAME);
  for (let polls = 1; polls <= maxPolls; polls++) {
    const done = await isComplete({ ...event, PhysicalResourceId: NAME, Data: started.Data }, api);
    if (done.IsComplete) return { operation: started.Data, polls, arn: done.Data?.ConnectorArn };
  }
  throw new Error(`not complete after ${maxPolls} polls`);
}

describe('the connector custom resource (mocked MSK Connect)', () => {
  test('create: creates the connector under its name and completes when it runs', async () => {
    const api = new FakeMskConnect();
    const result = await run(api, { RequestType: 'Create', ResourceProperties: props(spec()) });
    expect(result.operation).toEqual({ Action: 'create' });
    expect(api.connectors.map((c) => [c.connectorName, c.connectorState])).toEqual([[NAME, 'RUNNING']]);
    expect(result.arn).toBe(`arn:aws:kafkaconnect:eu-west-1:123456789012:connector/${NAME}/id-1`);
  });

  test('create refuses to take over a connector of the same name it did not create', async () => {
    const api = new FakeMskConnect();
    await api.create(spec());
    await expect(onEvent({ RequestType: 'Create', ResourceProperties: props(spec()) }, api)).rejects.toThrow(
      `a connector named ${NAME} already exists`,
    );
  });

  test('a plugin upgrade replaces the connector delete-then-create under the SAME name', async () => {
    const api = new FakeMskConnect(3);
    await run(api, { RequestType: 'Create', ResourceProperties: props(spec()) });
    api.calls.length = 0;
    const upgraded = spec({
      plugins: [
        { customPlugin: { customPluginArn: 'arn:plugin/debezium-3-8-0-final-bbbbbbbb', revision: 1 } },
      ],
    });
    const result = await run(api, {
      RequestType: 'Update',
      PhysicalResourceId: NAME,
      ResourceProperties: props(upgraded),
      OldResourceProperties: props(spec()),
    });
    expect(result.operation).toEqual({
      Action: 'replace',
      ReplacedArn: `arn:aws:kafkaconnect:eu-west-1:123456789012:connector/${NAME}/id-1`,
    });
    // The old connector was deleted before the new one was created, and never both at once.
    const mutations = api.calls.filter((c) => /^(create|delete|update)/.test(c));
    expect(mutations).toEqual([
      `delete arn:aws:kafkaconnect:eu-west-1:123456789012:connector/${NAME}/id-1 v1`,
      `create ${NAME}`,
    ]);
    expect(api.connectors).toHaveLength(1);
    expect(api.connectors[0]).toMatchObject({ connectorName: NAME, connectorState: 'RUNNING' });
    expect(api.connectors[0]!.spec).toEqual(upgraded);
    expect(result.arn).toBe(`arn:aws:kafkaconnect:eu-west-1:123456789012:connector/${NAME}/id-2`);
  });

  test('a new worker configuration replaces the connector too', async () => {
    const api = new FakeMskConnect();
    await run(api, { RequestType: 'Create', ResourceProperties: props(spec()) });
    const changed = spec({
      workerConfiguration: {
        workerConfigurationArn: 'arn:worker/streaming-dev-orders-cdc-worker-22222222',
        revision: 1,
      },
    });
    const result = await run(api, {
      RequestType: 'Update',
      PhysicalResourceId: NAME,
      ResourceProperties: props(changed),
      OldResourceProperties: props(spec()),
    });
    expect(result.operation.Action).toBe('replace');
    expect(replacingChanges(spec(), changed)).toEqual(['workerConfiguration']);
  });

  test('a change of the connector configuration alone is applied in place (same connector, same offsets)', async () => {
    const api = new FakeMskConnect();
    await run(api, { RequestType: 'Create', ResourceProperties: props(spec()) });
    const changed = spec({
      connectorConfiguration: {
        'snapshot.mode': 'initial',
        'slot.name': 'platform_cdc',
        'heartbeat.interval.ms': '5000',
      },
    });
    api.calls.length = 0;
    const result = await run(api, {
      RequestType: 'Update',
      PhysicalResourceId: NAME,
      ResourceProperties: props(changed),
      OldResourceProperties: props(spec()),
    });
    expect(result.operation).toEqual({
      Action: 'update',
      ConnectorArn: `arn:aws:kafkaconnect:eu-west-1:123456789012:connector/${NAME}/id-1`,
    });
    expect(api.calls.filter((c) => /^(create|delete|update)/.test(c))).toEqual([
      `update arn:aws:kafkaconnect:eu-west-1:123456789012:connector/${NAME}/id-1 v1`,
    ]);
    expect(api.connectors[0]!.spec.connectorConfiguration).toEqual(changed.connectorConfiguration);
  });

  test('an update without a change touches nothing; key order does not count as a change', async () => {
    const api = new FakeMskConnect();
    await run(api, { RequestType: 'Create', ResourceProperties: props(spec()) });
    api.calls.length = 0;
    const reordered = spec({
      connectorConfiguration: { 'slot.name': 'platform_cdc', 'snapshot.mode': 'initial' },
    });
    const result = await run(api, {
      RequestType: 'Update',
      PhysicalResourceId: NAME,
      ResourceProperties: props(reordered),
      OldResourceProperties: props(spec()),
    });
    expect(result.operation.Action).toBe('none');
    expect(api.calls.filter((c) => /^(create|delete|update)/.test(c))).toEqual([]);
  });

  test('the connector name cannot change (offsets are keyed by it)', async () => {
    const api = new FakeMskConnect();
    await run(api, { RequestType: 'Create', ResourceProperties: props(spec()) });
    await expect(
      onEvent(
        {
          RequestType: 'Update',
          PhysicalResourceId: NAME,
          ResourceProperties: props(spec({ connectorName: 'other' })),
          OldResourceProperties: props(spec()),
        },
        api,
      ),
    ).rejects.toThrow('the connector name cannot change');
  });

  test('a replacement that fails to run fails the update (CloudFormation then rolls back the same way)', async () => {
    const api = new FakeMskConnect(1, true);
    await expect(run(api, { RequestType: 'Create', ResourceProperties: props(spec()) })).rejects.toThrow(
      'FAILED',
    );
  });

  test('delete removes the connector and completes when it is gone', async () => {
    const api = new FakeMskConnect(2);
    await run(api, { RequestType: 'Create', ResourceProperties: props(spec()) });
    const result = await run(api, {
      RequestType: 'Delete',
      PhysicalResourceId: NAME,
      ResourceProperties: props(spec()),
    });
    expect(result.operation).toEqual({ Action: 'delete' });
    expect(api.connectors).toEqual([]);
    // Nothing left to delete is fine (a rolled-back create).
    const again = await run(api, {
      RequestType: 'Delete',
      PhysicalResourceId: NAME,
      ResourceProperties: props(spec()),
    });
    expect(again.polls).toBe(1);
  });
});

describe('the source database set-up', () => {
  const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;

  test('renders exactly the statements the contract needs, as the owner', () => {
    expect(
      renderSourceDatabaseSetup(
        {
          database: 'orders',
          tables: ['public.orders'],
          publicationName: 'platform_cdc',
          replicationUser: 'cdc_replication',
          replicationGrant: 'rds_replication',
        },
        "'secret'",
      ),
    ).toEqual([
      `CREATE TABLE IF NOT EXISTS public.orders (
  id           bigint      PRIMARY KEY,
  user_id      text        NOT NULL,
  status       text        NOT NULL CHECK (status IN ('created', 'paid', 'shipped', 'cancelled', 'refunded')),
  amount_cents bigint      NOT NULL,
  currency     char(3)     NOT NULL,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL
)`,
      'ALTER TABLE public.orders REPLICA IDENTITY FULL',
      `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cdc_replication') THEN
    CREATE ROLE cdc_replication LOGIN;
  END IF;
END $$`,
      "ALTER ROLE cdc_replication WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'secret'",
      'GRANT rds_replication TO cdc_replication',
      'GRANT CONNECT ON DATABASE orders TO cdc_replication',
      'GRANT USAGE ON SCHEMA public TO cdc_replication',
      'GRANT SELECT ON public.orders TO cdc_replication',
      `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'platform_cdc') THEN
    CREATE PUBLICATION platform_cdc FOR TABLE public.orders;
  END IF;
END $$`,
      'ALTER PUBLICATION platform_cdc SET TABLE public.orders',
    ]);
  });

  test('a self-managed server gets the REPLICATION attribute; other tables are not created', () => {
    const statements = renderSourceDatabaseSetup(
      {
        database: 'shop',
        tables: ['sales.orders', 'sales.items'],
        publicationName: 'pub',
        replicationUser: 'repl',
        replicationGrant: 'attribute',
      },
      "'x'",
    );
    expect(statements.filter((s) => s.startsWith('CREATE TABLE'))).toEqual([]);
    expect(statements.filter((s) => s.includes('REPLICA IDENTITY'))).toEqual([
      'ALTER TABLE sales.orders REPLICA IDENTITY FULL',
      'ALTER TABLE sales.items REPLICA IDENTITY FULL',
    ]);
    // Everything the login is given, whole: a wider grant or attribute fails here.
    expect(statements.filter((s) => /^(ALTER ROLE|GRANT) /.test(s))).toEqual([
      "ALTER ROLE repl WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'x'",
      'ALTER ROLE repl WITH REPLICATION',
      'GRANT CONNECT ON DATABASE shop TO repl',
      'GRANT USAGE ON SCHEMA sales TO repl',
      'GRANT SELECT ON sales.orders, sales.items TO repl',
    ]);
  });

  test('names that would need quoting are refused', () => {
    expect(() =>
      renderSourceDatabaseSetup(
        {
          database: 'o',
          tables: ['public.orders; drop'],
          publicationName: 'p',
          replicationUser: 'u',
          replicationGrant: 'attribute',
        },
        "'x'",
      ),
    ).toThrow('tables: "public.orders; drop" must be schema.table');
  });

  const event = (requestType: 'Create' | 'Update' | 'Delete'): DatabaseSetupEvent => ({
    RequestType: requestType,
    ResourceProperties: {
      Host: 'db.internal',
      Port: '5432',
      Database: 'orders',
      Tables: '["public.orders"]',
      PublicationName: 'platform_cdc',
      ReplicationUser: 'cdc_replication',
      ReplicationGrant: 'rds_replication',
      MasterSecretArn: 'arn:master',
      ReplicationSecretArn: 'arn:replication',
    },
  });

  function deps(replicationUser = 'cdc_replication', failOn?: string) {
    const log: string[] = [];
    return {
      log,
      deps: {
        readSecret: (arn: string) =>
          Promise.resolve(
            arn === 'arn:master'
              ? { username: 'cdc_admin', password: 'master-pw' }
              : { username: replicationUser, password: "it's-secret" },
          ),
        connect: (options: {
          host: string;
          port: number;
          database: string;
          username: string;
          password: string;
        }) => {
          log.push(`connect ${options.username}@${options.host}:${options.port}/${options.database}`);
          return Promise.resolve({
            query: (sql: string) => {
              log.push(sql);
              return failOn && sql.includes(failOn)
                ? Promise.reject(new Error('permission denied'))
                : Promise.resolve();
            },
            escapeLiteral: quote,
            end: () => {
              log.push('end');
              return Promise.resolve();
            },
          });
        },
      },
    };
  }

  test('runs every statement as the master user in one transaction, with the replication password quoted', async () => {
    const { log, deps: d } = deps();
    const result = await setUpDatabase(event('Create'), d);
    expect(result).toEqual({
      PhysicalResourceId: 'db.internal/orders/cdc_replication',
      Data: { Statements: 10 },
    });
    expect(log[0]).toBe('connect cdc_admin@db.internal:5432/orders');
    expect(log[1]).toBe('BEGIN');
    expect(log).toContain(
      "ALTER ROLE cdc_replication WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'it''s-secret'",
    );
    expect(log.slice(-2)).toEqual(['COMMIT', 'end']);
  });

  test('a failing statement rolls back, and the error never carries the statements (one holds the password)', async () => {
    const { log, deps: d } = deps('cdc_replication', 'GRANT rds_replication');
    const error = await setUpDatabase(event('Update'), d).catch((e: Error) => e);
    expect((error as Error).message).toBe('database set-up failed: permission denied');
    expect((error as Error).message).not.toContain('secret');
    expect(log.slice(-2)).toEqual(['ROLLBACK', 'end']);
  });

  test('refuses a replication secret of another login; delete leaves the database alone', async () => {
    await expect(setUpDatabase(event('Create'), deps('postgres').deps)).rejects.toThrow(
      "the replication secret's username is not cdc_replication",
    );
    const { log, deps: d } = deps();
    await setUpDatabase({ ...event('Delete'), PhysicalResourceId: 'db.internal/orders/cdc_replication' }, d);
    expect(log).toEqual([]);
  });
});

describe('the signed AWS calls', () => {
  const credentials = {
    accessKeyId: 'AKIAUNITTEST0000000',
    secretAccessKey: 'unit-test-secret-access-key-0000000000',
  };

  test('GetSecretValue is signed so that a SigV4-verifying Secrets Manager stand-in answers it', async () => {
    const stub = await SecretsManagerStub.start({ region: 'eu-west-1', credentials });
    try {
      stub.putSecret('streaming-dev-orders-cdc-replication', { username: 'cdc_replication', password: 'pw' });
      const value = await readCredentialsSecret('streaming-dev-orders-cdc-replication', {
        region: 'eu-west-1',
        endpoint: stub.url,
        credentials,
      });
      // The SDK client, pointed at a SigV4-verifying stand-in (Secrets Manager cannot run here).
      expect(value).toEqual({ username: 'cdc_replication', password: 'pw' });
      expect(stub.requests).toEqual([
        {
          target: 'secretsmanager.GetSecretValue',
          secretId: 'streaming-dev-orders-cdc-replication',
          accessKeyId: credentials.accessKeyId,
          region: 'eu-west-1',
          service: 'secretsmanager',
          signatureValid: true,
          status: 200,
          error: undefined,
        },
      ]);
      await expect(
        readCredentialsSecret('missing', { region: 'eu-west-1', endpoint: stub.url, credentials }),
      ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    } finally {
      await stub.stop();
    }
  });

  test('MSK Connect calls through the SDK: methods, paths (ARN encoded), queries and bodies as the API reference gives them', async () => {
    // A loopback stand-in of the MSK Connect endpoint (the service itself cannot run here): it
    // records what the SDK client sends and answers as the API reference describes.
    const arn = 'arn:aws:kafkaconnect:eu-west-1:123456789012:connector/streaming-dev-orders-cdc/abc-2';
    const missing = 'arn:aws:kafkaconnect:eu-west-1:123456789012:connector/streaming-dev-orders-cdc/gone-1';
    const sent: { method: string; path: string; query: string; body: unknown; authorization: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        const url = new URL(req.url!, 'http://localhost');
        sent.push({
          method: req.method!,
          path: url.pathname,
          query: url.search,
          body: body ? (JSON.parse(body) as unknown) : undefined,
          authorization: String(req.headers.authorization),
        });
        if (url.pathname.endsWith(encodeURIComponent(missing))) {
          res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'NotFoundException' });
          res.end(JSON.stringify({ message: 'connector not found' }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            url.pathname === '/v1/connectors' && req.method === 'GET'
              ? {
                  connectors: [
                    {
                      connectorArn: arn,
                      connectorName: 'streaming-dev-orders-cdc',
                      connectorState: 'RUNNING',
                      currentVersion: 'V1',
                    },
                    {
                      connectorArn: 'x',
                      connectorName: 'streaming-dev-orders-cdc-other',
                      connectorState: 'RUNNING',
                      currentVersion: 'V1',
                    },
                  ],
                }
              : {
                  connectorArn: arn,
                  connectorName: 'streaming-dev-orders-cdc',
                  connectorState: 'RUNNING',
                  currentVersion: 'V1',
                },
          ),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const api = mskConnectApi({ region: 'eu-west-1', endpoint: `http://127.0.0.1:${port}`, credentials });
      expect((await api.connectorsNamed('streaming-dev-orders-cdc')).map((c) => c.connectorArn)).toEqual([
        arn,
      ]);
      expect(await api.describe(arn)).toEqual({
        connectorArn: arn,
        connectorName: 'streaming-dev-orders-cdc',
        connectorState: 'RUNNING',
        currentVersion: 'V1',
      });
      expect(await api.describe(missing)).toBeUndefined();
      await api.create({
        connectorName: 'streaming-dev-orders-cdc',
        connectorConfiguration: { a: 'b' },
        capacity: {},
      });
      await api.updateConfiguration(arn, 'V1', { a: 'c' });
      await api.remove(arn, 'V1');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const encoded = encodeURIComponent(arn);
    expect(sent.map(({ method, path, query, body }) => ({ method, path, query, body }))).toEqual([
      {
        method: 'GET',
        path: '/v1/connectors',
        query: '?connectorNamePrefix=streaming-dev-orders-cdc&maxResults=100',
        body: undefined,
      },
      { method: 'GET', path: `/v1/connectors/${encoded}`, query: '', body: undefined },
      { method: 'GET', path: `/v1/connectors/${encodeURIComponent(missing)}`, query: '', body: undefined },
      {
        method: 'POST',
        path: '/v1/connectors',
        query: '',
        body: { connectorName: 'streaming-dev-orders-cdc', connectorConfiguration: { a: 'b' }, capacity: {} },
      },
      {
        method: 'PUT',
        path: `/v1/connectors/${encoded}`,
        query: '?currentVersion=V1',
        body: { connectorConfiguration: { a: 'c' } },
      },
      { method: 'DELETE', path: `/v1/connectors/${encoded}`, query: '?currentVersion=V1', body: undefined },
    ]);
    for (const { authorization } of sent)
      expect(authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIAUNITTEST0000000\/\d{8}\/eu-west-1\/kafkaconnect\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
      );
  });
});
