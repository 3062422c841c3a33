import { execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  DEBEZIUM_PLUGIN_PROJECT_DIR,
  DEBEZIUM_PLUGIN_ZIP,
  DEBEZIUM_PLUGIN_ZIP_SHA256,
  toPropertiesText,
} from '../../../lib/cdc/debezium-config';
import { bootstrap } from './clients';
import { ENGINES_DIR } from './kafka';
import { javaExecutable, resolveClasspath } from './maven';
import { spawnJvm, stopProcess, writeLog4jConfig, type JvmOptions } from './jvm';
import { freePort, waitForPort } from './ports';

export const CONNECT_POM_DIR = resolve(__dirname, '..', 'connect');

/** The newest modification time of the files under `dir`, build output (`target/`) aside. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'target') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds the MSK Connect plugin ZIP with Maven when it is missing or older than its pom/descriptor
 * or any source of the modules the pom builds with it (the Secrets Manager config provider), then
 * checks it against its .sha256 file. Returns the ZIP's path.
 */
export function ensurePluginZip(zip = DEBEZIUM_PLUGIN_ZIP, projectDir = DEBEZIUM_PLUGIN_PROJECT_DIR): string {
  const pom = readFileSync(join(projectDir, 'pom.xml'), 'utf8');
  const modules = [...pom.matchAll(/<module>([^<]+)<\/module>/g)].map((m) =>
    resolve(projectDir, m[1]!.trim()),
  );
  const sources = [
    ...readdirSync(projectDir)
      .filter((f) => f.endsWith('.xml'))
      .map((f) => statSync(join(projectDir, f)).mtimeMs),
    ...modules.map(newestSource),
  ];
  const checksumFile = zip === DEBEZIUM_PLUGIN_ZIP ? DEBEZIUM_PLUGIN_ZIP_SHA256 : `${zip}.sha256`;
  if (!existsSync(zip) || !existsSync(checksumFile) || Math.max(...sources) > statSync(zip).mtimeMs) {
    execFileSync('mvn', ['-B', '-q', '-f', join(projectDir, 'pom.xml'), 'package'], { stdio: 'inherit' });
  }
  if (!existsSync(zip)) throw new Error(`the plugin build did not produce ${zip}`);
  const [expected, name] = readFileSync(checksumFile, 'utf8').trim().split(/\s+/);
  const actual = createHash('sha256').update(readFileSync(zip)).digest('hex');
  if (expected !== actual || name !== basename(zip))
    throw new Error(`${zip} does not match ${checksumFile} (${actual} vs ${expected} ${name})`);
  return zip;
}

/** `jar` of the JDK that runs the engines (unpacks ZIPs without needing `unzip`). */
function jarExecutable(): string {
  const java = javaExecutable();
  return java === 'java' ? 'jar' : join(java, '..', 'jar');
}

export interface ConnectorStatus {
  readonly name: string;
  readonly connector: { readonly state: string; readonly trace?: string };
  readonly tasks: readonly { readonly id: number; readonly state: string; readonly trace?: string }[];
}

export interface ConfigValidation {
  readonly name: string;
  readonly error_count: number;
  readonly configs: readonly {
    readonly value: { readonly name: string; readonly errors: readonly string[] };
  }[];
}

export interface LocalConnectOptions {
  /**
   * The worker configuration shared with MSK Connect (converters, config providers), from
   * lib/cdc/debezium-config.ts `renderWorkerConfig`.
   */
  readonly workerConfig: Readonly<Record<string, string>>;
  /**
   * Identity of the Connect cluster: group.id and internal topic names derive from it. A worker
   * started with the id of a stopped one takes over its connectors and offsets. @default random
   */
  readonly clusterId?: string;
  /** @default process.env.KAFKA_BOOTSTRAP (the broker of global-setup.ts) */
  readonly bootstrap?: string;
  /**
   * The plugin ZIP unpacked into plugin.path, a build output `<project>/target/<name>.zip` of a
   * Maven project (rebuilt when missing or older than the project's files).
   * @default DEBEZIUM_PLUGIN_ZIP
   */
  readonly pluginZip?: string;
  /** Worker JVM heap. @default 512m */
  readonly heap?: string;
  /** Extra local worker properties. */
  readonly properties?: Readonly<Record<string, string>>;
  /**
   * Environment variables of the worker JVM on top of this process's environment, e.g. the AWS
   * credentials and region the Secrets Manager config provider's default chains read.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra JVM options of the worker, e.g. `-Djdk.net.hosts.file=…`. */
  readonly jvmOptions?: readonly string[];
}

/**
 * A single Kafka Connect 3.7 worker in distributed mode (test/engines/connect/pom.xml) whose plugin
 * path is the unpacked MSK Connect plugin ZIP. REST on a free loopback port, logs under .engines/.
 */
export class LocalConnect {
  public readonly url: string;
  public readonly logFile: string;

  /** How the worker JVM was started, for {@link restart}. */
  private spawnArgs?: { readonly args: readonly string[]; readonly options: JvmOptions };

  private constructor(
    private process: ChildProcess,
    public readonly clusterId: string,
    public readonly port: number,
    public readonly dir: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.logFile = join(dir, 'logs', 'connect.log');
  }

  /** The internal topics of a Connect cluster id (configs, offsets, status). */
  static internalTopics(clusterId: string): string[] {
    return [`connect-${clusterId}-configs`, `connect-${clusterId}-offsets`, `connect-${clusterId}-status`];
  }

  /** Starts the worker; resolves when its REST API answers and lists the plugin's connector. */
  static async start(options: LocalConnectOptions): Promise<LocalConnect> {
    const classpath = resolveClasspath(CONNECT_POM_DIR);
    const zip = options.pluginZip
      ? ensurePluginZip(options.pluginZip, dirname(dirname(options.pluginZip)))
      : ensurePluginZip();
    const clusterId = options.clusterId ?? randomUUID().slice(0, 8);
    const port = await freePort();
    const dir = join(ENGINES_DIR, `connect-${clusterId}-${randomUUID().slice(0, 4)}`);
    const pluginPath = join(dir, 'plugins');
    mkdirSync(join(dir, 'logs'), { recursive: true });
    mkdirSync(pluginPath, { recursive: true });
    // plugin.path holds the ZIP's top-level folder, exactly as MSK Connect unpacks a custom plugin.
    execFileSync(jarExecutable(), ['xf', zip], { cwd: pluginPath, stdio: 'ignore' });

    const [configs, offsets, status] = LocalConnect.internalTopics(clusterId);
    const properties: Record<string, string> = {
      ...options.workerConfig,
      // Local only (MSK Connect manages these itself).
      'bootstrap.servers': options.bootstrap ?? bootstrap(),
      'group.id': `connect-${clusterId}`,
      'config.storage.topic': configs!,
      // The worker configuration's own offsets topic when it names one (the platform's does).
      'offset.storage.topic': options.workerConfig['offset.storage.topic'] ?? offsets!,
      'status.storage.topic': status!,
      'config.storage.replication.factor': '1',
      'offset.storage.replication.factor': '1',
      'status.storage.replication.factor': '1',
      'offset.storage.partitions': '1',
      'status.storage.partitions': '1',
      // Commit source offsets (and so confirm LSNs to the slot) every second instead of every minute.
      'offset.flush.interval.ms': '1000',
      // A worker that replaces a dead one gets its connectors at once, not after up to 5 minutes.
      'scheduled.rebalance.max.delay.ms': '0',
      listeners: `http://127.0.0.1:${port}`,
      'rest.advertised.host.name': '127.0.0.1',
      'rest.advertised.port': String(port),
      'plugin.path': pluginPath,
      ...options.properties,
    };
    const propertiesFile = join(dir, 'worker.properties');
    writeFileSync(propertiesFile, toPropertiesText(properties));
    const log4j = writeLog4jConfig(join(dir, 'log4j.properties'), join(dir, 'logs', 'connect.log'), {
      'org.reflections': 'ERROR',
      'org.apache.kafka.clients': 'WARN',
      'org.apache.kafka.common': 'WARN',
    });
    const args = [
      ...(options.jvmOptions ?? []),
      '-cp',
      classpath,
      `-Dlog4j.configuration=file:${log4j}`,
      'org.apache.kafka.connect.cli.ConnectDistributed',
      propertiesFile,
    ];
    const jvmOptions: JvmOptions = { heap: options.heap, env: options.env };
    const jvm = spawnJvm(args, jvmOptions);
    const child = jvm.child;
    const stderr = () => jvm.stderrTail();
    const connect = new LocalConnect(child, clusterId, port, dir);
    connect.spawnArgs = { args, options: jvmOptions };
    try {
      await waitForPort(port, 90_000, () => child.exitCode === null);
      await connect.waitUntilReady(90_000);
    } catch (err) {
      await connect.stop({ keepFiles: true });
      throw new Error(
        `Kafka Connect did not start: ${(err as Error).message}\n${stderr()}\nlog: ${connect.logFile}`,
      );
    }
    return connect;
  }

  /** Waits until the REST API answers and the worker has joined its group (GET /connectors works). */
  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (this.process.exitCode !== null) throw new Error('worker exited');
      try {
        const res = await this.request('GET', '/connectors');
        if (res.status === 200) return;
        last = `${res.status} ${JSON.stringify(res.body)}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`REST API not ready within ${timeoutMs} ms (${last})`);
  }

  /** One REST call; the body is parsed JSON (or text, or undefined when empty). */
  public async request(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, body: parsed };
  }

  private async ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body);
    if (res.status < 200 || res.status >= 300)
      throw new Error(`${method} ${path} returned ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body as T;
  }

  /** The connector classes the worker loaded from plugin.path and its class path. */
  public async connectorPlugins(): Promise<{ class: string; type: string; version: string }[]> {
    return this.ok('GET', '/connector-plugins?connectorsOnly=true');
  }

  /** `PUT /connector-plugins/{class}/config/validate`. */
  public async validate(connectorClass: string, config: Record<string, string>): Promise<ConfigValidation> {
    return this.ok('PUT', `/connector-plugins/${encodeURIComponent(connectorClass)}/config/validate`, config);
  }

  /** Creates or updates a connector (`PUT /connectors/{name}/config`). */
  public async putConnector(name: string, config: Record<string, string>): Promise<void> {
    await this.ok('PUT', `/connectors/${encodeURIComponent(name)}/config`, config);
  }

  public async status(name: string): Promise<ConnectorStatus | undefined> {
    const res = await this.request('GET', `/connectors/${encodeURIComponent(name)}/status`);
    return res.status === 200 ? (res.body as ConnectorStatus) : undefined;
  }

  /** Waits until the connector and all its tasks run; fails at once when one of them failed. */
  public async waitForRunning(name: string, timeoutMs = 60_000): Promise<ConnectorStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: ConnectorStatus | undefined;
    while (Date.now() < deadline) {
      last = await this.status(name);
      const failed = last && [last.connector, ...last.tasks].find((s) => s.state === 'FAILED');
      if (failed) throw new Error(`connector ${name} failed: ${failed.trace ?? JSON.stringify(last)}`);
      if (
        last?.connector.state === 'RUNNING' &&
        last.tasks.length > 0 &&
        last.tasks.every((t) => t.state === 'RUNNING')
      )
        return last;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`connector ${name} not running within ${timeoutMs} ms: ${JSON.stringify(last)}`);
  }

  /** Deletes a connector and waits until the worker no longer lists it. */
  public async deleteConnector(name: string, timeoutMs = 30_000): Promise<void> {
    const res = await this.request('DELETE', `/connectors/${encodeURIComponent(name)}`);
    if (res.status !== 204 && res.status !== 404)
      throw new Error(`DELETE /connectors/${name} returned ${res.status}: ${JSON.stringify(res.body)}`);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const list = await this.ok<string[]>('GET', '/connectors');
      if (!list.includes(name)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`connector ${name} still listed after ${timeoutMs} ms`);
  }

  /** The worker log, for failure messages. */
  public tail(lines = 60): string {
    return existsSync(this.logFile)
      ? readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n')
      : '';
  }

  /**
   * Freezes the worker (SIGSTOP): its connections stay open but nothing answers, as with a worker
   * host that vanished from the network. PostgreSQL keeps its replication slot active until
   * `wal_sender_timeout` or until the process dies (`stop({ crash: true })` kills it).
   */
  public freeze(): void {
    this.process.kill('SIGSTOP');
  }

  /**
   * Stops the worker cleanly (SIGTERM: its tasks stop and commit their offsets) and starts it again
   * with the same configuration, REST port and files; resolves when its REST API answers again (its
   * connectors then resume from their committed offsets: `waitForRunning` tells when).
   */
  public async restart(): Promise<void> {
    if (!this.spawnArgs) throw new Error('this worker cannot be restarted');
    await stopProcess(this.process);
    const jvm = spawnJvm(this.spawnArgs.args, this.spawnArgs.options);
    this.process = jvm.child;
    const child = jvm.child;
    try {
      await waitForPort(this.port, 90_000, () => child.exitCode === null);
      await this.waitUntilReady(90_000);
    } catch (err) {
      throw new Error(
        `Kafka Connect did not start again: ${(err as Error).message}\n${jvm.stderrTail()}\nlog: ${this.logFile}`,
      );
    }
  }

  /**
   * Stops the worker: cleanly (SIGTERM: tasks stop and commit their offsets; SIGKILL after 30 s),
   * or, with `crash`, at once (SIGKILL: nothing is committed, as when a worker host dies). Removes
   * its files unless `keepFiles`.
   */
  public async stop(options: { crash?: boolean; keepFiles?: boolean } = {}): Promise<void> {
    await stopProcess(this.process, { crash: options.crash });
    if (!options.keepFiles) rmSync(this.dir, { recursive: true, force: true });
  }
}
