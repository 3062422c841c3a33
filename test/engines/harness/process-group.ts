/**
 * A CLI that starts engines runs them in a child process in a process group of its own. Ctrl-C in a
 * terminal signals the whole foreground group: were the JVMs in it, they would all stop at once (a
 * worker then spends tens of seconds retrying a broker that is gone). Only the parent gets the
 * terminal's SIGINT; it asks the child once to stop in order, and a second Ctrl-C kills the group.
 * Used by `npm run local` (tools/local/cli.ts) and `npm run engines:cdc` (test/engines/connect/cli.ts).
 */
import { spawn } from 'node:child_process';

/** Marks the child that runs the engines in its own process group. */
const IN_OWN_GROUP = '--in-own-process-group';

/** This process is that child. */
export function inOwnProcessGroup(): boolean {
  return process.argv.includes(IN_OWN_GROUP);
}

/** The command-line arguments without the marker. */
export function cliArgs(): string[] {
  return process.argv.slice(2).filter((a) => a !== IN_OWN_GROUP);
}

/** Runs the CLI `file` again in a new process group and forwards the first Ctrl-C as one SIGTERM. */
export function runInOwnProcessGroup(file: string): void {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', file, ...process.argv.slice(2), IN_OWN_GROUP],
    { detached: true, stdio: 'inherit' },
  );
  let interrupts = 0;
  const interrupt = (): void => {
    interrupts++;
    if (interrupts === 1) child.kill('SIGTERM');
    else {
      console.error('Second interrupt: killing everything now.');
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
