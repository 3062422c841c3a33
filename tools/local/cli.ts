/**
 * `npm run local -- [options]`: the whole platform on this machine (tools/local/run.ts), with live
 * progress in the terminal and the report at the end. `--help` lists the options.
 *
 * Ctrl-C in a terminal signals the whole foreground process group; were the engines' JVMs in it,
 * they would all stop at once, before the run could drain and report. So, as the CDC CLI does
 * (test/engines/connect/cli.ts), the run goes on in a child process in a process group of its own:
 * the first Ctrl-C asks it to stop the generators, drain (bounded), report and stop every engine in
 * order; a second one kills the group at once.
 */
import { cliArgs, inOwnProcessGroup, runInOwnProcessGroup } from '../../test/engines/harness/process-group';
import { formatProgress, formatProgressLine, formatReport } from './report';
import { parseLocalArgs, USAGE } from './options';
import { runLocal, type LocalOutput } from './run';

/** Progress redrawn in place on a terminal; a line per report elsewhere. */
export function terminalOutput(stream: NodeJS.WriteStream = process.stdout): LocalOutput {
  const tty = stream.isTTY === true;
  let drawn = 0;
  let lastLine = 0;
  const clear = (): void => {
    if (drawn > 0) stream.write(`\x1b[${drawn}F\x1b[J`);
    drawn = 0;
  };
  let block: string[] = [];
  return {
    line(text) {
      if (tty) clear();
      stream.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
      if (tty && block.length > 0) {
        stream.write(block.join('\n') + '\n');
        drawn = block.length;
      }
    },
    progress(snapshot) {
      if (tty) {
        block = formatProgress(snapshot);
        clear();
        stream.write(block.join('\n') + '\n');
        drawn = block.length;
      } else if (Date.now() - lastLine >= 5_000) {
        lastLine = Date.now();
        stream.write(`${new Date().toISOString().slice(11, 19)} ${formatProgressLine(snapshot)}\n`);
      }
    },
  };
}

async function main(argv: readonly string[]): Promise<number> {
  let options;
  try {
    options = parseLocalArgs(argv);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  // The functions run on Node 24 in AWS; the SDK's notice about this machine's Node 20 is not the run's.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const abort = new AbortController();
  const stop = (): void => {
    if (!abort.signal.aborted) {
      process.stdout.write(
        '\nstopping: generators stop, then drain, report and shut down (Ctrl-C again kills everything)\n',
      );
      abort.abort();
    }
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const output = terminalOutput();
  const report = await runLocal(options, {
    output,
    signal: abort.signal,
    progressIntervalMs: process.stdout.isTTY ? 1000 : 2000,
  });
  for (const line of formatReport(report)) console.log(line);
  return report.balanced && report.problems.length === 0 ? 0 : 1;
}

if (require.main === module) {
  if (inOwnProcessGroup()) {
    main(cliArgs()).then(
      (code) => process.exit(code),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  } else runInOwnProcessGroup(__filename);
}
