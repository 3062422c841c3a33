import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { javaExecutable } from './maven';

export interface JvmOptions {
  /** `-Xmx`/`-Xms`. @default 512m */
  readonly heap?: string;
  /** Environment variables on top of this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** The `java` executable. @default javaExecutable() */
  readonly java?: string;
}

/** A JVM engine process started by the harness. */
export interface JvmProcess {
  readonly child: ChildProcess;
  /** The last 4000 characters the JVM wrote to stderr, for failure messages. */
  stderrTail(): string;
}

/**
 * Starts `java <jvm args> <args>` with a fixed heap and G1, never outliving this process (killed
 * if the test process exits without a teardown), keeping the tail of its stderr.
 */
export function spawnJvm(args: readonly string[], options: JvmOptions = {}): JvmProcess {
  const heap = options.heap ?? '512m';
  const child = spawn(
    options.java ?? javaExecutable(),
    [`-Xmx${heap}`, `-Xms${heap}`, '-XX:+UseG1GC', ...args],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: false,
      env: { ...process.env, ...options.env },
    },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  return { child, stderrTail: () => stderr };
}

/**
 * Stops a process: SIGTERM (a clean shutdown) then SIGKILL after `graceMs`, or SIGKILL at once with
 * `crash` (as when a host dies). Resolves when it has exited.
 */
export async function stopProcess(
  child: ChildProcess,
  options: { crash?: boolean; graceMs?: number } = {},
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(options.crash ? 'SIGKILL' : 'SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.graceMs ?? 30_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Writes a reload4j configuration that sends everything from INFO up to `logFile` (Kafka and Kafka
 * Connect 3.x log through log4j 1.x), with per-logger levels; returns its path.
 */
export function writeLog4jConfig(
  path: string,
  logFile: string,
  levels: Readonly<Record<string, string>> = {},
): string {
  const lines = [
    'log4j.rootLogger=INFO, file',
    'log4j.appender.file=org.apache.log4j.FileAppender',
    `log4j.appender.file.File=${logFile}`,
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    ...Object.entries(levels).map(([logger, level]) => `log4j.logger.${logger}=${level}`),
  ];
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}
