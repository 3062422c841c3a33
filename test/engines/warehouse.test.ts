/**
 * The warehouse leg's connector on the real engines: the Snowflake Kafka connector 2.5.0 from the
 * very plugin ZIP MSK Connect gets (connect/snowflake-sink) on a Kafka Connect 3.7 worker (MSK
 * Connect's "3.7.x") with the broker of global-setup.ts, checking the connector configuration that
 * lib/warehouse/snowflake-config.ts renders for the dev environment (the same function the MSK
 * Connect construct deploys from).
 *
 * Validation runs on a worker WITHOUT the config provider: a worker that has it resolves the
 * `${secretsmanager:…}` placeholders before the plugin's validate() sees them, and the plugin then
 * opens a live connection to the account. With the placeholders left in place the plugin runs all
 * its offline checks (its ConfigDef validators) and skips the connection.
 *
 * Starting runs on a worker WITH the platform's Secrets Manager config provider (the class in the
 * ZIP), pointed at a local stub of the GetSecretValue API (harness/secrets-manager-stub.ts; Secrets
 * Manager has no local edition), holding an encrypted PKCS#8 key pair made by the test. Snowflake
 * itself cannot run here and no Snowflake endpoint is reachable: the account host does not resolve,
 * so what a start can show is how far the connector gets before it needs the account: past the
 * streaming checks of its start() and the key decryption, up to the JDBC login. Creating a connector
 * validates it with a live connection (refused here), so the connectors are created STOPPED on the
 * worker without the provider and resumed by the worker with it, in the same Connect cluster.
 *
 * Not here: Snowflake (so no row lands and no task runs: the connector's start() and each task's
 * start() open the connection first, hence the dead-letter path of a record the JsonConverter
 * cannot read, which needs a running task, cannot be shown), IAM/TLS to the brokers, more than one
 * broker.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Admin } from 'kafkajs';
import { SECRETS_MANAGER_CONFIG_PROVIDER_CLASS, renderWorkerConfig } from '../../lib/cdc/debezium-config';
import {
  SNOWFLAKE_CONNECTOR,
  SNOWFLAKE_PLUGIN_ZIP,
  SNOWFLAKE_SECRET_KEYS,
  SNOWFLAKE_SINK_CONNECTOR_CLASS,
  renderSnowflakeSinkConfig,
  snowflakeSinkOptions,
} from '../../lib/warehouse/snowflake-config';
import { configFor } from '../support/synth';
import { TEST_SNOWFLAKE_ACCOUNT, TEST_SNOWFLAKE_SECRET_NAME, withSnowflake } from '../support/warehouse';
import { localAwsIdentity } from './harness/cdc';
import { connectAdmin, deleteTopicsAndWait } from './harness/clients';
import { LocalConnect, type ConnectorStatus } from './harness/connect';
import { SecretsManagerStub } from './harness/secrets-manager-stub';

const DEV = configFor('dev', withSnowflake('dev'));
/** The Connect cluster of both workers: the one without the provider hands its connectors over. */
const CLUSTER_ID = randomUUID().slice(0, 8);
const AWS_IDENTITY = localAwsIdentity();
/** A secret holding the same key with a passphrase that does not decrypt it. */
const WRONG_PASSPHRASE_SECRET = `${TEST_SNOWFLAKE_SECRET_NAME}-wrong-passphrase`;
/** Connector names: the dev environment's, one reading the wrong passphrase, one created live. */
const SINK = sinkConfig().name!;
const WRONG_PASSPHRASE_SINK = `${SINK}-wrong-passphrase`;
const CREATED_SINK = `${SINK}-created`;
/**
 * The JDBC login's retry bound when the account cannot be reached (`snowflake.jdbc.map`, a setting
 * of the test only): with the driver's default the connector was still in start() after 120 s.
 */
const LOGIN_TIMEOUT: Record<string, string> = { 'snowflake.jdbc.map': 'loginTimeout:20' };
const CONNECTION_TIMEOUT_MS = 120_000;

let admin: Admin;
let offline: LocalConnect | undefined;
let online: LocalConnect | undefined;
let secrets: SecretsManagerStub | undefined;

/** The dev environment's connector configuration, reading the key pair from `secretReference`. */
function sinkConfig(secretReference = TEST_SNOWFLAKE_SECRET_NAME, nameSuffix = ''): Record<string, string> {
  const options = snowflakeSinkOptions(DEV, secretReference);
  return renderSnowflakeSinkConfig({ ...options, connectorName: `${options.connectorName}${nameSuffix}` });
}

/**
 * The worker configuration MSK Connect's carries (the same rendering: no offsets topic, a sink keeps
 * no source offsets, so the local worker uses its cluster's own), with the provider pointed at the
 * stub, or without the provider at all.
 */
function workerConfig(stub?: SecretsManagerStub): Record<string, string> {
  const rendered = renderWorkerConfig({
    secretsProvider: {
      className: SECRETS_MANAGER_CONFIG_PROVIDER_CLASS,
      params: stub ? { endpoint: stub.url } : {},
    },
  });
  if (stub) return rendered;
  return Object.fromEntries(Object.entries(rendered).filter(([key]) => !key.startsWith('config.providers')));
}

/**
 * The workers resolve names from this file only (Java's `jdk.net.hosts.file`): the account's host
 * is not in it, so it fails to resolve at once and the same way on every machine, instead of
 * depending on the machine's DNS (whose timeouts once kept the connector in start() past 120 s).
 */
const HOSTS_FILE = join(mkdtempSync(join(tmpdir(), 'warehouse-hosts-')), 'hosts');
writeFileSync(HOSTS_FILE, '127.0.0.1 localhost\n');

function startWorker(stub?: SecretsManagerStub): Promise<LocalConnect> {
  return LocalConnect.start({
    clusterId: CLUSTER_ID,
    jvmOptions: [`-Djdk.net.hosts.file=${HOSTS_FILE}`],
    workerConfig: workerConfig(stub),
    pluginZip: SNOWFLAKE_PLUGIN_ZIP,
    env: stub && {
      AWS_ACCESS_KEY_ID: AWS_IDENTITY.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: AWS_IDENTITY.credentials.secretAccessKey,
      AWS_REGION: AWS_IDENTITY.region,
    },
  });
}

/** The fields the plugin reports errors on, each with its messages. */
async function fieldErrors(config: Record<string, string>): Promise<Record<string, readonly string[]>> {
  const validation = await offline!.validate(SNOWFLAKE_SINK_CONNECTOR_CLASS, config);
  const fields = validation.configs.filter((c) => c.value.errors.length > 0).map((c) => c.value);
  expect(validation.error_count).toBe(fields.reduce((n, f) => n + f.errors.length, 0));
  return Object.fromEntries(fields.map((f) => [f.name, f.errors]));
}

async function waitForConnectorState(name: string, state: string): Promise<ConnectorStatus> {
  const deadline = Date.now() + CONNECTION_TIMEOUT_MS;
  let last: ConnectorStatus | undefined;
  while (Date.now() < deadline) {
    last = await online!.status(name);
    if (last?.connector.state === state) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `connector ${name} not ${state} within ${CONNECTION_TIMEOUT_MS} ms: ${JSON.stringify(last)}\nworker log:\n${online!.tail(80)}`,
  );
}

beforeAll(async () => {
  admin = await connectAdmin();
  offline = await startWorker();
});

afterAll(async () => {
  for (const name of [SINK, WRONG_PASSPHRASE_SINK, CREATED_SINK])
    await online?.deleteConnector(name).catch(() => undefined);
  await offline?.stop();
  await online?.stop();
  await secrets?.stop();
  await deleteTopicsAndWait(admin, LocalConnect.internalTopics(CLUSTER_ID));
  await admin.disconnect();
  rmSync(dirname(HOSTS_FILE), { recursive: true, force: true });
});

describe('on a worker without the config provider', () => {
  test('the worker loads the pinned connector from the plugin ZIP', async () => {
    expect(await offline!.connectorPlugins()).toContainEqual({
      class: SNOWFLAKE_SINK_CONNECTOR_CLASS,
      type: 'sink',
      version: SNOWFLAKE_CONNECTOR.version,
    });
    // The connector decrypts an encrypted key with BouncyCastle FIPS, which its POM names with
    // scope "provided" (not in the uber JAR): the plugin must bring it.
    const jars = readdirSync(join(offline!.dir, 'plugins', 'snowflake-kafka-connector'));
    expect(jars).toEqual(
      expect.arrayContaining([expect.stringMatching(/^bc-fips-/), expect.stringMatching(/^bcpkix-fips-/)]),
    );
  });

  test("the dev environment's configuration passes every check of the plugin", async () => {
    expect(await fieldErrors(sinkConfig())).toEqual({});
  });

  const without = (key: string) =>
    Object.fromEntries(Object.entries(sinkConfig()).filter(([k]) => k !== key));
  test.each([
    ['snowflake.user.name', 'removed', () => without('snowflake.user.name'), 'must be provided'],
    ['snowflake.database.name', 'removed', () => without('snowflake.database.name'), 'must be provided'],
    [
      'snowflake.ingestion.method',
      'SNOWPIPE_TURBO',
      undefined,
      'String must be one of: snowpipe, snowpipe_streaming',
    ],
    ['buffer.flush.time', 'soon', undefined, 'Not a number of type LONG'],
    ['buffer.count.records', '0', undefined, 'Value must be at least 1'],
    ['errors.tolerance', 'some', undefined, 'String must be one of: none, all'],
  ])('%s %s: the plugin reports an error on that field only', async (field, value, broken, message) => {
    const config = broken ? broken() : { ...sinkConfig(), [field]: value };
    const errors = await fieldErrors(config);
    expect(Object.keys(errors)).toEqual([field]);
    expect(errors[field]).toContainEqual(expect.stringContaining(message));
  });
});

describe('on a worker with the config provider, the account unreachable', () => {
  const config: Record<string, string> = { ...sinkConfig(), ...LOGIN_TIMEOUT };
  const wrongPassphrase: Record<string, string> = {
    ...sinkConfig(WRONG_PASSPHRASE_SECRET, '-wrong-passphrase'),
    ...LOGIN_TIMEOUT,
  };

  beforeAll(async () => {
    // Created STOPPED where validation stays offline; the worker with the provider resumes them.
    for (const c of [config, wrongPassphrase]) {
      const created = await offline!.request('POST', '/connectors', {
        name: c.name,
        config: c,
        initial_state: 'STOPPED',
      });
      expect(created.status).toBe(201);
    }
    await offline!.stop();
    offline = undefined;

    const passphrase = randomBytes(18).toString('base64url');
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase },
    });
    secrets = await SecretsManagerStub.start(AWS_IDENTITY);
    secrets.putSecret(TEST_SNOWFLAKE_SECRET_NAME, {
      [SNOWFLAKE_SECRET_KEYS.privateKey]: privateKey,
      [SNOWFLAKE_SECRET_KEYS.passphrase]: passphrase,
    });
    secrets.putSecret(WRONG_PASSPHRASE_SECRET, {
      [SNOWFLAKE_SECRET_KEYS.privateKey]: privateKey,
      [SNOWFLAKE_SECRET_KEYS.passphrase]: `${passphrase}x`,
    });
    online = await startWorker(secrets);
  });

  test('a started connector gets past its streaming checks and the key, and fails at the JDBC login to the account', async () => {
    const host = TEST_SNOWFLAKE_ACCOUNT.accountUrl.replace(/:443$/, '');
    expect((await online!.request('PUT', `/connectors/${SINK}/resume`)).status).toBe(202);
    const failed = await waitForConnectorState(SINK, 'FAILED');
    const trace = failed.connector.trace ?? '';
    expect(trace).toContain('Error Code: 1001');
    expect(trace).toContain(
      `JDBC driver encountered communication error. Message: Exception encountered for HTTP request: ${host}`,
    );
    expect(trace).not.toContain('Error Code: 0018');
    expect(secrets!.getSecretValueCalls(TEST_SNOWFLAKE_SECRET_NAME)).toContainEqual(
      expect.objectContaining({ signatureValid: true, status: 200 }),
    );
  });

  test('a wrong passphrase fails the connector at the key', async () => {
    expect((await online!.request('PUT', `/connectors/${WRONG_PASSPHRASE_SINK}/resume`)).status).toBe(202);
    const failed = await waitForConnectorState(WRONG_PASSPHRASE_SINK, 'FAILED');
    expect(failed.connector.trace).toContain('Error Code: 0018');
    expect(failed.connector.trace).not.toContain('Error Code: 1001');
  });

  test('creating the connector here validates it live: the key parses, the account cannot be reached', async () => {
    const res = await fetch(`${online!.url}/connectors/${CREATED_SINK}/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...config, name: CREATED_SINK }),
      signal: AbortSignal.timeout(CONNECTION_TIMEOUT_MS),
    });
    const body = (await res.json()) as { message: string };
    expect(res.status).toBe(400);
    expect(body.message).toContain('snowflake.url.name: Cannot connect to Snowflake');
    expect(body.message).not.toContain('is not valid');
    expect(await online!.status(CREATED_SINK)).toBeUndefined();
  });
});
