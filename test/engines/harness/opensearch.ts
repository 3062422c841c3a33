import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnJvm, stopProcess } from './jvm';
import { resolveClasspath } from './maven';
import { freePort } from './ports';

export const OPENSEARCH_POM_DIR = resolve(__dirname, '..', 'opensearch');
const ENGINES_DIR = resolve(__dirname, '..', '..', '..', '.engines');

/** The module jars of `transport-netty4` (HTTP and transport); the rest is the server class path. */
const NETTY4_MODULE = /^(transport-netty4-client|opensearch-netty4|netty-.*)-\d.*\.jar$/;

/**
 * A Java 21+ runtime (OpenSearch 3.x needs it): `$OPENSEARCH_JAVA_HOME`, else the Temurin 25 JDK
 * that machines of this kind carry under /usr/lib/jvm, else `$JAVA_HOME`.
 */
export function openSearchJava(): string {
  const candidates = [process.env.OPENSEARCH_JAVA_HOME];
  if (existsSync('/usr/lib/jvm')) {
    const temurin = readdirSync('/usr/lib/jvm')
      .filter((d) => /^temurin-(2[1-9]|[3-9]\d)/.test(d))
      .sort()
      .reverse();
    candidates.push(...temurin.map((d) => join('/usr/lib/jvm', d)));
  }
  candidates.push(process.env.JAVA_HOME);
  for (const home of candidates) {
    if (home && existsSync(join(home, 'bin', 'java'))) return join(home, 'bin', 'java');
  }
  throw new Error('no Java 21+ for OpenSearch: set OPENSEARCH_JAVA_HOME (e.g. a Temurin 25 JDK)');
}

export interface LocalOpenSearchOptions {
  /** HTTP port on 127.0.0.1. @default a free port */
  readonly port?: number;
  /** Home dir (config, modules, data, logs). @default .engines/opensearch-<random> */
  readonly dir?: string;
  /** JVM heap. @default 512m */
  readonly heap?: string;
}

/** `GET /_cluster/health` of a running node. */
interface ClusterHealth {
  readonly status: 'green' | 'yellow' | 'red';
}

/**
 * A single-node OpenSearch (no security plugin, HTTP on 127.0.0.1) from the Maven Central artifacts
 * pinned in test/engines/opensearch/pom.xml: the server jar on the class path, transport-netty4 laid
 * out as a module, started through `org.opensearch.bootstrap.OpenSearch`. No Docker, no tarball.
 * `stop()` then `start()` (or `restart()`) brings the same node back on the same data and port.
 */
export class LocalOpenSearch {
  /** `http://127.0.0.1:<port>`. */
  public readonly url: string;
  public readonly logFile: string;
  /** Milliseconds from process start to a green or yellow cluster, for the last start. */
  public startMs = 0;
  private process?: ChildProcess;

  private constructor(
    public readonly port: number,
    public readonly dir: string,
    private readonly classpath: string,
    private readonly heap: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.logFile = join(dir, 'logs', 'local.log');
  }

  /** Resolves the jars, lays out the home dir and starts the node; resolves when it is yellow or green. */
  static async start(options: LocalOpenSearchOptions = {}): Promise<LocalOpenSearch> {
    const lib = resolveClasspath(OPENSEARCH_POM_DIR).replace(/\/\*$/, '');
    const jars = readdirSync(lib).filter((f) => f.endsWith('.jar'));
    const dir = options.dir ?? join(ENGINES_DIR, `opensearch-${randomUUID().slice(0, 8)}`);
    const port = options.port ?? (await freePort());
    const transportPort = await freePort();
    const config = join(dir, 'config');
    const module = join(dir, 'modules', 'transport-netty4');
    for (const d of [
      config,
      module,
      join(dir, 'plugins'),
      join(dir, 'data'),
      join(dir, 'logs'),
      join(dir, 'tmp'),
    ]) {
      mkdirSync(d, { recursive: true });
    }
    const version = /^opensearch-(\d+\.\d+\.\d+)\.jar$/.exec(
      jars.find((j) => /^opensearch-\d/.test(j)) ?? '',
    )?.[1];
    if (!version) throw new Error(`no opensearch server jar in ${lib}`);
    for (const jar of jars.filter((j) => NETTY4_MODULE.test(j))) {
      const link = join(module, jar);
      if (!existsSync(link)) copyFileSync(join(lib, jar), link);
    }
    writeFileSync(
      join(module, 'plugin-descriptor.properties'),
      [
        'description=Netty 4 based transport and HTTP',
        `version=${version}`,
        'name=transport-netty4',
        'classname=org.opensearch.transport.Netty4ModulePlugin',
        `java.version=21`,
        `opensearch.version=${version}`,
      ].join('\n') + '\n',
    );
    writeFileSync(
      join(config, 'opensearch.yml'),
      [
        'cluster.name: local',
        'node.name: local-1',
        'network.host: 127.0.0.1',
        `http.port: ${port}`,
        `transport.port: ${transportPort}`,
        'discovery.type: single-node',
        `path.data: ${join(dir, 'data')}`,
        `path.logs: ${join(dir, 'logs')}`,
        // Test machines run with little free disk: never turn indices read-only for it.
        'cluster.routing.allocation.disk.threshold_enabled: false',
        'action.auto_create_index: true',
      ].join('\n') + '\n',
    );
    writeFileSync(
      join(config, 'log4j2.properties'),
      [
        'status = error',
        'appender.file.type = File',
        'appender.file.name = file',
        `appender.file.fileName = ${join(dir, 'logs', 'local.log')}`,
        'appender.file.layout.type = PatternLayout',
        'appender.file.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] %m%n',
        'rootLogger.level = info',
        'rootLogger.appenderRef.file.ref = file',
      ].join('\n') + '\n',
    );
    const classpath = jars
      .filter((j) => !NETTY4_MODULE.test(j))
      .map((j) => join(lib, j))
      .join(':');
    const node = new LocalOpenSearch(port, dir, classpath, options.heap ?? '512m');
    await node.start();
    return node;
  }

  /** Starts the node on its home dir (again, after {@link stop}); resolves when it is yellow or green. */
  public async start(): Promise<void> {
    if (this.process && this.process.exitCode === null && this.process.signalCode === null) return;
    const started = Date.now();
    const jvm = spawnJvm(
      [
        `-Djava.io.tmpdir=${join(this.dir, 'tmp')}`,
        '-Dlog4j2.disable.jmx=true',
        `-Dopensearch.path.home=${this.dir}`,
        `-Dopensearch.path.conf=${join(this.dir, 'config')}`,
        '-Dopensearch.distribution.type=tar',
        '-cp',
        this.classpath,
        join(OPENSEARCH_POM_DIR, 'LocalNode.java'),
        this.dir,
      ],
      {
        java: openSearchJava(),
        heap: this.heap,
        env: { OPENSEARCH_PATH_CONF: join(this.dir, 'config') },
      },
    );
    const child = jvm.child;
    this.process = child;
    try {
      await this.waitForHealth(120_000);
    } catch (err) {
      await stopProcess(child, { graceMs: 5_000 });
      throw new Error(
        `OpenSearch did not start: ${(err as Error).message}\n${jvm.stderrTail()}\n${this.tail()}\nlog: ${this.logFile}`,
      );
    }
    this.startMs = Date.now() - started;
  }

  private async waitForHealth(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const child = this.process;
      if (!child || child.exitCode !== null || child.signalCode !== null) throw new Error('the node exited');
      const health = await fetch(`${this.url}/_cluster/health?wait_for_status=yellow&timeout=1s`)
        .then((r) => (r.ok ? (r.json() as Promise<ClusterHealth>) : undefined))
        .catch(() => undefined);
      if (health && health.status !== 'red') return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`not yellow or green within ${timeoutMs} ms`);
  }

  /** The node's JVM pid, while it runs. */
  public get pid(): number | undefined {
    return this.process?.exitCode === null ? this.process.pid : undefined;
  }

  /** Resident memory of the node's JVM in MiB (Linux /proc), while it runs. */
  public rssMiB(): number | undefined {
    const pid = this.pid;
    if (pid === undefined || !existsSync(`/proc/${pid}/status`)) return undefined;
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  }

  /** The node log, for failure messages. */
  public tail(lines = 40): string {
    return existsSync(this.logFile)
      ? readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n')
      : '';
  }

  /** Stops the node (SIGTERM: a clean shutdown), keeping its data for {@link start}. */
  public async stop(): Promise<void> {
    if (this.process) await stopProcess(this.process);
  }

  /** Stops and starts the node on the same data and port (an outage and a recovery). */
  public async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Stops the node and removes its home dir. */
  public async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
