/**
 * What a local run leaves behind if it is killed before its clean shutdown, recorded as it starts
 * things (`run.json` in the run's directory): the engine processes (pid and start time, so that a
 * reused pid is never killed) and the PostgreSQL database, login and replication slot. The next run
 * removes them before it starts.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { PG_HOST, PG_PORT } from '../../test/engines/harness/postgres';

export interface RunRecord {
  /** The run's own process. */
  readonly runner: ProcessId;
  readonly processes: ProcessId[];
  database?: { readonly name: string; readonly user: string; readonly slot: string };
  /** Engine directories outside the run's own (kept with --keep), removed by the next run. */
  dirs?: string[];
}

export interface ProcessId {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat: with the pid, names the process uniquely. */
  readonly startTime: string;
  readonly command: string;
}

function statOf(pid: number): { ppid: number; startTime: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command may hold spaces and parentheses: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), startTime: fields[19]! };
  } catch {
    return undefined;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 3).join(' ').slice(0, 120);
  } catch {
    return '';
  }
}

export function processId(pid: number): ProcessId | undefined {
  const stat = statOf(pid);
  return stat ? { pid, startTime: stat.startTime, command: commandOf(pid) } : undefined;
}

/** The processes whose parent is `parent` (the engines this run started). */
export function childProcesses(parent = process.pid): ProcessId[] {
  const children: ProcessId[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = statOf(pid);
    if (stat?.ppid === parent) children.push({ pid, startTime: stat.startTime, command: commandOf(pid) });
  }
  return children;
}

/** True while the process the id names runs. */
export function alive(id: ProcessId): boolean {
  return statOf(id.pid)?.startTime === id.startTime;
}

export class RunRecorder {
  private readonly record: RunRecord;

  constructor(private readonly file: string) {
    this.record = { runner: processId(process.pid)!, processes: [] };
    this.save();
  }

  /** Records the current child processes (called after each engine started). */
  noteChildren(): void {
    for (const child of childProcesses()) {
      if (!this.record.processes.some((p) => p.pid === child.pid && p.startTime === child.startTime))
        this.record.processes.push(child);
    }
    this.save();
  }

  noteDir(dir: string): void {
    (this.record.dirs ??= []).push(dir);
    this.save();
  }

  noteDatabase(database: NonNullable<RunRecord['database']>): void {
    this.record.database = database;
    this.save();
  }

  private save(): void {
    writeFileSync(this.file, JSON.stringify(this.record, null, 2) + '\n');
  }
}

/**
 * Removes what the run recorded in `dir/run.json` left behind; returns what it did. Refuses when
 * that run is still going.
 */
export async function removeLeftovers(dir: string): Promise<string[]> {
  const file = join(dir, 'run.json');
  if (!existsSync(file)) return [];
  let record: RunRecord;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
  } catch {
    return [];
  }
  if (record.runner && record.runner.pid !== process.pid && alive(record.runner))
    throw new Error(`another local run (pid ${record.runner.pid}) uses ${dir}; stop it first or give --dir`);
  const done: string[] = [];
  for (const p of record.processes ?? []) {
    if (!alive(p)) continue;
    process.kill(p.pid, 'SIGKILL');
    done.push(`killed pid ${p.pid} (${p.command})`);
  }
  for (const d of record.dirs ?? []) {
    if (!existsSync(d)) continue;
    rmSync(d, { recursive: true, force: true });
    done.push(`removed ${d}`);
  }
  if (record.database) {
    const { name, user, slot } = record.database;
    const client = new Client({
      host: PG_HOST,
      port: PG_PORT,
      user: process.env.ENGINES_PGUSER ?? 'postgres',
      database: 'postgres',
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const slots = await client.query<{ active_pid: number | null }>(
        'SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1 AND database = $2',
        [slot, name],
      );
      for (const row of slots.rows) {
        if (row.active_pid !== null) await client.query('SELECT pg_terminate_backend($1)', [row.active_pid]);
        await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
        done.push(`dropped replication slot ${slot}`);
      }
      const db = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (db.rowCount) {
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
        done.push(`dropped database ${name}`);
      }
      await client.query(`DROP ROLE IF EXISTS ${client.escapeIdentifier(user)}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return done;
}
