import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { kafkaClient, waitForLeaders } from './clients';
import { javaExecutable, resolveClasspath } from './maven';
import { spawnJvm, stopProcess, writeLog4jConfig } from './jvm';
import { freePort, waitForPort } from './ports';

export const KAFKA_POM_DIR = resolve(__dirname, '..', 'kafka');
export const ENGINES_DIR = resolve(__dirname, '..', '..', '..', '.engines');

export interface LocalKafkaOptions {
  /** Broker port on 127.0.0.1. @default a free port */
  readonly port?: number;
  /** Where data and logs go. @default .engines/kafka-<random> */
  readonly dir?: string;
  /** Broker JVM heap. @default 512m */
  readonly heap?: string;
  /** Extra broker properties (e.g. an MSK cluster configuration's server properties). */
  readonly serverProperties?: Record<string, string>;
  /**
   * SCRAM-SHA-512 users: adds a SASL_PLAINTEXT listener for them and the StandardAuthorizer with
   * MSK's `allow.everyone.if.no.acl.found=false`. PLAINTEXT clients (ANONYMOUS) stay super users:
   * they stand in for the IAM-authenticated admin, since MSK IAM cannot run here.
   */
  readonly scramUsers?: readonly { readonly name: string; readonly password: string }[];
}

/**
 * A single-node Apache Kafka broker in KRaft mode (broker and controller in one process), from the
 * Maven Central artifacts pinned in test/engines/kafka/pom.xml. No Docker, no tarball.
 */
export class LocalKafka {
  /** `127.0.0.1:<port>`. */
  public readonly bootstrap: string;
  /** `127.0.0.1:<port>` of the SASL_PLAINTEXT (SCRAM) listener, when started with scramUsers. */
  public saslBootstrap?: string;
  public readonly logFile: string;

  /** The `java` arguments of the broker, for {@link restart}. */
  private jvmArgs: readonly string[] = [];
  private heap: string | undefined;

  private constructor(
    private process: ChildProcess,
    public readonly port: number,
    public readonly dir: string,
  ) {
    this.bootstrap = `127.0.0.1:${port}`;
    this.logFile = join(dir, 'logs', 'server.log');
  }

  /** Formats KRaft storage and starts the broker; resolves when it accepts clients. */
  static async start(options: LocalKafkaOptions = {}): Promise<LocalKafka> {
    const classpath = resolveClasspath(KAFKA_POM_DIR);
    const port = options.port ?? (await freePort());
    const controllerPort = await freePort();
    const dir = options.dir ?? join(ENGINES_DIR, `kafka-${randomUUID().slice(0, 8)}`);
    const dataDir = join(dir, 'data');
    mkdirSync(join(dir, 'logs'), { recursive: true });
    mkdirSync(dataDir, { recursive: true });

    const scramPort = options.scramUsers ? await freePort() : undefined;
    const properties: Record<string, string> = {
      'process.roles': 'broker,controller',
      'node.id': '1',
      'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
      listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names': 'CONTROLLER',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name': 'PLAINTEXT',
      'log.dirs': dataDir,
      // One broker: internal topics cannot have more replicas than that.
      'offsets.topic.replication.factor': '1',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      'group.initial.rebalance.delay.ms': '0',
      'auto.create.topics.enable': 'false',
      'log.segment.bytes': String(16 * 1024 * 1024),
      ...(scramPort
        ? {
            listeners: `PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${scramPort},CONTROLLER://127.0.0.1:${controllerPort}`,
            'advertised.listeners': `PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${scramPort}`,
            'listener.security.protocol.map':
              'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
            'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
            'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config':
              'org.apache.kafka.common.security.scram.ScramLoginModule required;',
            'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
            'super.users': 'User:ANONYMOUS',
            'allow.everyone.if.no.acl.found': 'false',
          }
        : {}),
      ...options.serverProperties,
    };
    const propertiesFile = join(dir, 'server.properties');
    writeFileSync(
      propertiesFile,
      Object.entries(properties)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n') + '\n',
    );
    const log4j = writeLog4jConfig(join(dir, 'log4j.properties'), join(dir, 'logs', 'server.log'), {
      'kafka.request.logger': 'WARN',
    });
    const java = javaExecutable();
    const jvm = ['-cp', classpath, `-Dlog4j.configuration=file:${log4j}`];
    const clusterId = execFileSync(java, [...jvm, 'kafka.tools.StorageTool', 'random-uuid'], {
      encoding: 'utf8',
    }).trim();
    const scram = (options.scramUsers ?? []).flatMap((u) => [
      '--add-scram',
      `SCRAM-SHA-512=[name=${u.name},password=${u.password}]`,
    ]);
    execFileSync(
      java,
      [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propertiesFile, ...scram],
      {
        stdio: 'ignore',
      },
    );
    const jvmProcess = spawnJvm([...jvm, 'kafka.Kafka', propertiesFile], { heap: options.heap });
    const child = jvmProcess.child;
    const kafka = new LocalKafka(child, port, dir);
    kafka.jvmArgs = [...jvm, 'kafka.Kafka', propertiesFile];
    kafka.heap = options.heap;
    if (scramPort) kafka.saslBootstrap = `127.0.0.1:${scramPort}`;
    try {
      await waitForPort(port, 60_000, () => child.exitCode === null);
      await kafka.waitUntilReady();
    } catch (err) {
      await kafka.stop({ keepFiles: true });
      throw new Error(
        `Kafka did not start: ${(err as Error).message}\n${jvmProcess.stderrTail()}\nlog: ${kafka.logFile}`,
      );
    }
    return kafka;
  }

  /** Waits until the broker answers metadata requests and has a controller. */
  private async waitUntilReady(): Promise<void> {
    const admin = this.admin();
    try {
      await admin.connect();
      for (let i = 0; i < 100; i++) {
        const cluster = await admin.describeCluster().catch(() => undefined);
        if (cluster && cluster.controller !== null && cluster.brokers.length === 1) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error('broker did not report a controller');
    } finally {
      await admin.disconnect();
    }
  }

  /** A kafkajs client for this broker (PLAINTEXT: a super user where SCRAM users are set). */
  public client(clientId = 'engine-tests'): Kafka {
    return kafkaClient(clientId, [this.bootstrap]);
  }

  public admin(): Admin {
    return this.client('engine-tests-admin').admin();
  }

  /** The broker log, for failure messages. */
  public tail(lines = 40): string {
    return existsSync(this.logFile)
      ? readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n')
      : '';
  }

  /** The broker log's size now: a mark for {@link logSince}. */
  public logMark(): number {
    return existsSync(this.logFile) ? statSync(this.logFile).size : 0;
  }

  /** What the broker logged after `mark` (from {@link logMark}). */
  public logSince(mark: number): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile).subarray(mark).toString('utf8') : '';
  }

  /**
   * Stops the broker cleanly (SIGTERM, as a rolling restart does) and starts it again on the same
   * data, listeners and ports (the storage stays formatted); resolves when every partition has its
   * leader again.
   * Clients keep their bootstrap address. Also starts a broker that was stopped with `keepFiles`.
   */
  public async restart(): Promise<void> {
    await stopProcess(this.process);
    const jvmProcess = spawnJvm(this.jvmArgs, { heap: this.heap });
    this.process = jvmProcess.child;
    const child = jvmProcess.child;
    try {
      await waitForPort(this.port, 60_000, () => child.exitCode === null);
      await this.waitUntilReady();
      // Leadership comes back partition by partition after the broker registers: until then its
      // clients get NOT_LEADER_OR_FOLLOWER.
      const admin = this.admin();
      await admin.connect();
      try {
        const topics = await admin.listTopics();
        await waitForLeaders(admin, topics, 60_000);
        // The metadata names the leader before it serves its partitions: ask each one for offsets.
        const deadline = Date.now() + 60_000;
        for (const topic of topics) {
          for (;;) {
            try {
              await admin.fetchTopicOffsets(topic);
              break;
            } catch (err) {
              if (Date.now() > deadline) throw err;
              await new Promise((r) => setTimeout(r, 200));
            }
          }
        }
      } finally {
        await admin.disconnect();
      }
    } catch (err) {
      throw new Error(
        `Kafka did not start again: ${(err as Error).message}\n${jvmProcess.stderrTail()}\nlog: ${this.logFile}`,
      );
    }
  }

  /** Stops the broker cleanly (SIGTERM, then SIGKILL after 30 s) and removes its files. */
  public async stop(options: { keepFiles?: boolean } = {}): Promise<void> {
    await stopProcess(this.process);
    if (!options.keepFiles) rmSync(this.dir, { recursive: true, force: true });
  }
}
