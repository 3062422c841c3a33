/**
 * The sessionize job (flink-sql/) on a local Flink mini cluster: the SAME shaded jar as Managed
 * Flink, plus the Flink runtime jars Managed Flink provides (the pom's `provided` class path), the
 * SAME sessionize.sql, and the properties of `sessionizeProperties(...)` with only the endpoints
 * swapped (local broker, PLAINTEXT, a file:// lake). Checkpointing is on, so lake files commit.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  loadEnvironments,
  type EnvironmentConfig,
  type TelemetryConfig,
} from '../../../lib/config/platform-config';
import { filesUnder } from '../../../lib/private/source-hash';
import {
  SESSIONIZE_PROPERTY_GROUP,
  sessionizeProperties,
} from '../../../lib/telemetry/sessionize-properties';
import { spawnJvm, stopProcess } from './jvm';
import { ENGINES_DIR } from './kafka';
import { javaExecutable } from './maven';

const run = promisify(execFile);

const ROOT = resolve(__dirname, '..', '..', '..');
export const FLINK_SQL_DIR = join(ROOT, 'flink-sql');
export const SESSIONIZE_JAR = join(FLINK_SQL_DIR, 'target', 'telemetry-sessionize.jar');
/** The bundled SQL (the jar's `sessionize.sql` resource). */
export const SESSIONIZE_SQL = join(FLINK_SQL_DIR, 'sql', 'sessionize.sql');
const PROVIDED_CLASSPATH = join(FLINK_SQL_DIR, 'target', 'provided.classpath');
const SOURCE_HASH = join(FLINK_SQL_DIR, 'target', 'source.sha256');
/** What the runner prints once the job is RUNNING (SessionizeJob.RUNNING_MARKER). */
const RUNNING_MARKER = 'SESSIONIZE_JOB_RUNNING';

export interface SessionizeRun {
  readonly lakeDir: string;
  readonly logFile: string;
  stop(): Promise<void>;
  /** resolves when the job is RUNNING and its source is reading */
  readonly started: Promise<void>;
  /** Resolves when the runner exits (a failed job exits 1), with the end of its log. */
  readonly exited: Promise<{ readonly code: number | null; readonly logTail: string }>;
  /** The last `lines` lines of the job's log. */
  logTail(lines?: number): string;
}

export interface StartSessionizeOptions {
  /** The local broker. */
  readonly bootstrap: string;
  /** Where the lake goes (a local directory; the job gets it as a file:// URL). */
  readonly lakeDir: string;
  /** Overrides of the dev config's telemetry section (`alerts` merged field by field). */
  readonly telemetry?: Partial<TelemetryConfig>;
  /** @default the bundled sessionize.sql */
  readonly sqlFile?: string;
  /** @default 1000 */
  readonly checkpointIntervalMs?: number;
  /** @default 1 */
  readonly parallelism?: number;
  /**
   * Properties of group `sessionize` replaced after `sessionizeProperties(...)` (the bench gives each
   * run its own consumer group). Tests of the job leave this out.
   */
  readonly propertyOverrides?: Readonly<Record<string, string>>;
  /** How long `started` may take. @default 180000 */
  readonly startTimeoutMs?: number;
  /** Mini cluster JVM heap. @default 1g */
  readonly heap?: string;
}

let building: Promise<string> | undefined;

/** Hash of everything the jar is built from. */
function sourceHash(): string {
  const files = [
    join(FLINK_SQL_DIR, 'pom.xml'),
    ...filesUnder(join(FLINK_SQL_DIR, 'sql')),
    ...filesUnder(join(FLINK_SQL_DIR, 'src')),
  ];
  const hash = createHash('sha256');
  for (const f of files) hash.update(relative(FLINK_SQL_DIR, f)).update('\0').update(readFileSync(f));
  return hash.digest('hex');
}

/**
 * `mvn package` of flink-sql/ (the shaded jar) and its provided class path, once per source hash;
 * returns the jar's path.
 */
export function buildSessionizeJar(): Promise<string> {
  building ??= (async () => {
    const hash = sourceHash();
    const upToDate = (): boolean =>
      existsSync(SESSIONIZE_JAR) &&
      existsSync(PROVIDED_CLASSPATH) &&
      existsSync(SOURCE_HASH) &&
      readFileSync(SOURCE_HASH, 'utf8').trim() === hash;
    if (upToDate()) return SESSIONIZE_JAR;
    // Several test processes may share the working tree: one build at a time.
    const release = await buildLock();
    try {
      if (upToDate()) return SESSIONIZE_JAR;
      const pom = join(FLINK_SQL_DIR, 'pom.xml');
      const opts = { cwd: FLINK_SQL_DIR, maxBuffer: 64 * 1024 * 1024, timeout: 900_000 };
      try {
        await run('mvn', ['-B', '-q', '-f', pom, 'clean', 'package'], opts);
        await run(
          'mvn',
          [
            '-B',
            '-q',
            '-f',
            pom,
            'dependency:build-classpath',
            '-Dmdep.includeScope=provided',
            `-Dmdep.outputFile=${PROVIDED_CLASSPATH}`,
          ],
          opts,
        );
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        throw new Error(`building flink-sql failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
      }
      writeFileSync(SOURCE_HASH, hash + '\n');
    } finally {
      release();
    }
    return SESSIONIZE_JAR;
  })();
  building.catch(() => (building = undefined));
  return building;
}

/** A lock directory next to the build (mkdir is atomic); a lock older than 20 minutes is stale. */
async function buildLock(): Promise<() => void> {
  const lock = join(FLINK_SQL_DIR, '.build-lock');
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      return () => rmSync(lock, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 20 * 60_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`flink-sql build lock ${lock} held for too long`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** The jar plus the Flink runtime jars (what Managed Flink provides). */
export async function jobClasspath(): Promise<string> {
  const jar = await buildSessionizeJar();
  return `${jar}:${readFileSync(PROVIDED_CLASSPATH, 'utf8').trim()}`;
}

/** The dev environment of cdk.json, as the CDK app loads it. */
export function devConfig(): EnvironmentConfig {
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const [config] = loadEnvironments({ ...cdkJson.context, env: 'dev' });
  if (!config) throw new Error('no dev environment in cdk.json');
  return config;
}

/** The `sessionize` group for a local run: AWS's properties with the endpoints swapped. */
export function localSessionizeProperties(
  options: Pick<StartSessionizeOptions, 'bootstrap' | 'lakeDir' | 'telemetry' | 'propertyOverrides'>,
): Record<string, string> {
  const config = devConfig();
  const o = options.telemetry ?? {};
  const telemetry: TelemetryConfig = {
    ...config.telemetry,
    ...o,
    alerts: { ...config.telemetry.alerts, ...o.alerts },
  };
  return {
    ...sessionizeProperties(
      { telemetry, topics: config.topics },
      {
        bootstrapServers: options.bootstrap,
        securityProtocol: 'PLAINTEXT',
        lakePath: pathToFileURL(resolve(options.lakeDir)).href,
      },
    ),
    ...options.propertyOverrides,
  };
}

/** Starts the job in its own JVM; `started` resolves once it runs and its source reads. */
export async function startSessionize(options: StartSessionizeOptions): Promise<SessionizeRun> {
  const classpath = await jobClasspath();
  const dir = join(ENGINES_DIR, `flink-${randomUUID().slice(0, 8)}`);
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp, { recursive: true });
  mkdirSync(options.lakeDir, { recursive: true });
  const logFile = join(dir, 'job.log');
  const properties = localSessionizeProperties(options);
  const local: Record<string, string> = {
    'execution.checkpointing.interval': `${options.checkpointIntervalMs ?? 1000} ms`,
    'execution.checkpointing.dir': pathToFileURL(join(dir, 'checkpoints')).href,
    'parallelism.default': String(options.parallelism ?? 1),
    // A failure ends the job (and the runner exits 1) instead of restarting forever.
    'restart-strategy.type': 'none',
    'io.tmp.dirs': tmp,
  };
  const propertiesFile = join(dir, 'application-properties.json');
  writeFileSync(
    propertiesFile,
    JSON.stringify(
      [
        { PropertyGroupId: SESSIONIZE_PROPERTY_GROUP, PropertyMap: properties },
        { PropertyGroupId: 'local', PropertyMap: local },
      ],
      null,
      2,
    ),
  );
  const jvm = spawnJvm(
    [
      '-cp',
      classpath,
      `-Djava.io.tmpdir=${tmp}`,
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=info',
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
      '-Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients.consumer.ConsumerConfig=warn',
      '-Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients.producer.ProducerConfig=warn',
      '-Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients.admin.AdminClientConfig=warn',
      '-Dorg.slf4j.simpleLogger.log.org.apache.kafka.common.config.AbstractConfig=warn',
      'platform.telemetry.SessionizeJob',
      '--local',
      '--properties',
      propertiesFile,
      ...(options.sqlFile ? ['--sql-file', options.sqlFile] : []),
    ],
    { heap: options.heap ?? '1g' },
  );
  const log = createWriteStream(logFile);
  let text = '';
  const waiters: Array<() => void> = [];
  jvm.child.stderr?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    // Only what `started` looks for is kept in memory (the marker and the source's offset lines).
    text = (text + chunk.toString()).slice(-200_000);
    for (const w of waiters.splice(0)) w();
  });
  const logTail = (lines = 60): string =>
    existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n') : '';
  const exited = new Promise<{ code: number | null; logTail: string }>((res) =>
    jvm.child.once('exit', (code) => {
      log.end(() => res({ code, logTail: logTail() }));
    }),
  );

  const sourceTopic = properties['source.topic'] ?? '';
  const sourceReading = new RegExp(
    `(Resetting offset|Setting offset|Seeking to (earliest|latest) offset) (for|of) partition ${escapeRegExp(sourceTopic)}-\\d+`,
  );
  let runningSeen = false;
  let readingSeen = false;
  const started = new Promise<void>((res, rej) => {
    const timeoutMs = options.startTimeoutMs ?? 180_000;
    const timer = setTimeout(() => {
      rej(
        new Error(`the sessionize job did not start within ${timeoutMs} ms; log ${logFile}:\n${logTail()}`),
      );
    }, timeoutMs);
    const check = (): void => {
      runningSeen ||= text.includes(RUNNING_MARKER);
      readingSeen ||= sourceReading.test(text);
      if (runningSeen && readingSeen) {
        clearTimeout(timer);
        res();
      } else waiters.push(check);
    };
    check();
    void exited.then(({ code, logTail: tail }) => {
      clearTimeout(timer);
      rej(new Error(`the sessionize job exited (code ${code}) before it started; log ${logFile}:\n${tail}`));
    });
  });
  started.catch(() => undefined); // callers that await it get the rejection; no unhandled rejection
  return {
    lakeDir: options.lakeDir,
    logFile,
    started,
    exited,
    logTail,
    stop: async () => {
      await stopProcess(jvm.child, { graceMs: 10_000 });
      await exited;
    },
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A row of a committed lake file and its Hive partition. */
export interface LakeSession {
  readonly partition: { readonly dt: string; readonly hr: string };
  readonly row: Record<string, unknown>;
}

/**
 * The rows of the committed Parquet files under `lakeDir` (in-progress files start with `.` and
 * are skipped, as Athena skips them); timestamps as contract times. Read with parquet-hadoop from
 * the job's own jar (platform.telemetry.LakeDump).
 */
export async function readLakeSessions(lakeDir: string): Promise<LakeSession[]> {
  if (!existsSync(lakeDir)) return [];
  const classpath = await jobClasspath();
  const { stdout } = await run(
    javaExecutable(),
    ['-Xmx256m', '-cp', classpath, 'platform.telemetry.LakeDump', lakeDir],
    { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 },
  );
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const { file, row } = JSON.parse(line) as { file: string; row: Record<string, unknown> };
      const dt = /(?:^|\/)dt=([^/]+)/.exec(file)?.[1];
      const hr = /(?:^|\/)hr=([^/]+)/.exec(file)?.[1];
      if (dt === undefined || hr === undefined)
        throw new Error(`lake file outside a dt=/hr= partition: ${file}`);
      return { partition: { dt, hr }, row };
    });
}
