/**
 * The local lake (the sessionize job's file:// sink): which committed Parquet files exist and when
 * each was first seen (a cheap directory walk, every second), and their rows, read with the job's own
 * jar (platform.telemetry.LakeDump, as the engine tests read them) now and then.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { jobClasspath } from '../../test/engines/harness/flink';
import { javaExecutable } from '../../test/engines/harness/maven';

const run = promisify(execFile);

export interface LakeRow {
  /** The file, relative to the lake directory (`dt=.../hr=.../part-...`). */
  readonly file: string;
  readonly row: Record<string, unknown>;
}

export class LakeWatcher {
  /** Committed file (relative path) -> wall time it was first seen. */
  public readonly firstSeen = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(public readonly dir: string) {}

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => this.scan(), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Records the committed files not seen before (names starting with `.` or `_` are in progress or markers). */
  scan(): void {
    const now = Date.now();
    const walk = (dir: string, rel: string): void => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        if (entry.name.startsWith('.') || entry.name.startsWith('_')) continue;
        const path = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) walk(join(dir, entry.name), path);
        else if (!this.firstSeen.has(path)) this.firstSeen.set(path, now);
      }
    };
    if (existsSync(this.dir)) walk(this.dir, '');
  }

  /** Every row of the committed files, with its file. */
  async rows(): Promise<LakeRow[]> {
    if (!existsSync(this.dir)) return [];
    const classpath = await jobClasspath();
    const { stdout } = await run(
      javaExecutable(),
      ['-Xmx256m', '-cp', classpath, 'platform.telemetry.LakeDump', this.dir],
      { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 },
    );
    return stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as LakeRow);
  }
}
