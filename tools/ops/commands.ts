/**
 * The ops CLI's commands and their flags, and the argument parser that accepts exactly these
 * (docs/ops-cli.md). Pure: no I/O, so the unit tests and the runbook check read it directly.
 */
import { TOPIC_IDS, TOPIC_SPECS } from '../../lib/topics/topic-specs';

export interface OpsCommandSpec {
  readonly command: string;
  readonly usage: string;
  readonly flags: readonly string[];
}

/** The dead-letter owners of the catalog (`deadLetterFor` in topic-specs.ts), in catalog order. */
export const DEAD_LETTER_OWNERS: readonly string[] = TOPIC_IDS.flatMap((id) => {
  const owner = (TOPIC_SPECS[id] as { deadLetterFor?: string }).deadLetterFor;
  return owner === undefined ? [] : [owner];
});

/** Records per second a replay sends at most, on average, unless `--rate` says otherwise. */
export const DEFAULT_REPLAY_RATE = 50;

/** Every command with every flag its parser accepts (the runbook check reads this list). */
export const OPS_COMMANDS: readonly OpsCommandSpec[] = [
  {
    command: 'status',
    usage: 'npm run ops -- status -c env=<env> [--bootstrap host:port] [--region <r>]',
    flags: ['-c', '--bootstrap', '--region', '--help'],
  },
  {
    command: 'topics diff',
    usage: 'npm run ops -- topics diff -c env=<env> [--bootstrap host:port] [--region <r>]',
    flags: ['-c', '--bootstrap', '--region', '--help'],
  },
  {
    command: 'dlq replay',
    usage:
      'npm run ops -- dlq replay <consumer> -c env=<env> [--rate <records/s>] [--max <n>] [--dry-run] [--bootstrap host:port] [--region <r>]',
    flags: ['-c', '--rate', '--max', '--dry-run', '--bootstrap', '--region', '--help'],
  },
];

/** Where a command finds Kafka and AWS. */
export interface ConnectionOptions {
  /** A plaintext broker (local engines, tests) instead of the cluster's IAM listener. */
  readonly bootstrap?: string;
  readonly region?: string;
}

interface CommonArgs extends ConnectionOptions {
  /** The `-c key=value` pairs, as the CDK CLI passes them to the app (string values). */
  readonly context: Readonly<Record<string, string>>;
}

export type ParsedArgs =
  | { readonly kind: 'help'; readonly command?: OpsCommandSpec }
  | ({ readonly kind: 'status' } & CommonArgs)
  | ({ readonly kind: 'topics diff' } & CommonArgs)
  | ({
      readonly kind: 'dlq replay';
      readonly consumer: string;
      readonly rate: number;
      readonly max?: number;
      readonly dryRun: boolean;
    } & CommonArgs);

/** A command line the parser refuses; the message names the flag and what it allows. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const COMMAND_LIST = OPS_COMMANDS.map((c) => c.command).join(', ');

function findCommand(words: readonly string[]): { spec: OpsCommandSpec; rest: string[] } {
  for (const spec of OPS_COMMANDS) {
    const parts = spec.command.split(' ');
    if (parts.every((p, i) => words[i] === p)) return { spec, rest: words.slice(parts.length) };
  }
  const given = words.filter((w) => !w.startsWith('-')).slice(0, 2);
  if (given[0] === 'topics' || given[0] === 'dlq') {
    const sub = OPS_COMMANDS.filter((c) => c.command.startsWith(`${given[0]} `)).map((c) => c.command);
    throw new UsageError(
      `unknown command "${given.join(' ')}"; allowed: ${sub.join(', ')} (commands: ${COMMAND_LIST})`,
    );
  }
  throw new UsageError(
    given.length === 0
      ? `no command given; allowed: ${COMMAND_LIST}`
      : `unknown command "${given[0]}"; allowed: ${COMMAND_LIST}`,
  );
}

const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}(,[A-Za-z0-9.-]+:\d{1,5})*$/;
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const CONTEXT_PAIR = /^([^=\s]+)=(.*)$/;

/** Parses `argv` (what follows `npm run ops --`). Throws {@link UsageError} naming the flag at fault. */
export function parseOpsArgs(argv: readonly string[]): ParsedArgs {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help')
    return { kind: 'help' };
  const { spec, rest } = findCommand(argv);
  const allowed = `allowed: ${spec.flags.join(', ')}`;
  const context: Record<string, string> = {};
  const positional: string[] = [];
  let bootstrap: string | undefined;
  let region: string | undefined;
  let rate: number | undefined;
  let max: number | undefined;
  let dryRun = false;

  const seen = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (!arg.startsWith('-')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (!spec.flags.includes(flag)) throw new UsageError(`${spec.command}: unknown flag ${flag}; ${allowed}`);
    if (flag === '--help') return { kind: 'help', command: spec };
    if (flag === '--dry-run') {
      if (eq > 0) throw new UsageError(`${spec.command}: --dry-run takes no value`);
      dryRun = true;
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = rest[i + 1];
      if (value === undefined || (value.startsWith('-') && flag !== '-c'))
        throw new UsageError(`${spec.command}: ${flag} needs a value (${flagHelp(flag)})`);
      i++;
    }
    if (flag !== '-c') {
      if (seen.has(flag)) throw new UsageError(`${spec.command}: ${flag} given twice`);
      seen.add(flag);
    }
    switch (flag) {
      case '-c': {
        const m = CONTEXT_PAIR.exec(value);
        if (!m) throw new UsageError(`${spec.command}: -c must be key=value (got ${JSON.stringify(value)})`);
        context[m[1]!] = m[2]!;
        break;
      }
      case '--bootstrap':
        if (!HOST_PORT.test(value))
          throw new UsageError(
            `${spec.command}: --bootstrap must be host:port[,host:port] (got ${JSON.stringify(value)})`,
          );
        bootstrap = value;
        break;
      case '--region':
        if (!REGION.test(value))
          throw new UsageError(
            `${spec.command}: --region must be an AWS region such as eu-west-1 (got ${JSON.stringify(value)})`,
          );
        region = value;
        break;
      case '--rate': {
        const n = Number(value);
        if (!/^\d+(\.\d+)?$/.test(value) || !(n >= 0.1) || n > 100_000)
          throw new UsageError(
            `${spec.command}: --rate must be records per second, a number from 0.1 to 100000 (got ${JSON.stringify(value)})`,
          );
        rate = n;
        break;
      }
      case '--max': {
        const n = Number(value);
        if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
          throw new UsageError(
            `${spec.command}: --max must be a whole number >= 1 (got ${JSON.stringify(value)})`,
          );
        max = n;
        break;
      }
    }
  }

  const env = context.env;
  if (env === undefined) throw new UsageError(`${spec.command}: -c env=<env> is required`);
  if (env === 'all') throw new UsageError(`${spec.command}: -c env must name one environment (got "all")`);

  const common: CommonArgs = {
    context,
    ...(bootstrap !== undefined ? { bootstrap } : {}),
    ...(region !== undefined ? { region } : {}),
  };
  if (spec.command === 'dlq replay') {
    if (positional.length !== 1)
      throw new UsageError(
        `dlq replay: expected one <consumer>, one of ${DEAD_LETTER_OWNERS.join(', ')} (got ${positional.length === 0 ? 'none' : positional.map((p) => JSON.stringify(p)).join(' ')})`,
      );
    const consumer = positional[0]!;
    if (!DEAD_LETTER_OWNERS.includes(consumer))
      throw new UsageError(
        `dlq replay: <consumer> must be one of ${DEAD_LETTER_OWNERS.join(', ')} (got ${JSON.stringify(consumer)})`,
      );
    return {
      kind: 'dlq replay',
      ...common,
      consumer,
      rate: rate ?? DEFAULT_REPLAY_RATE,
      ...(max !== undefined ? { max } : {}),
      dryRun,
    };
  }
  if (positional.length > 0)
    throw new UsageError(`${spec.command}: unexpected argument ${JSON.stringify(positional[0])}`);
  return { kind: spec.command as 'status' | 'topics diff', ...common };
}

function flagHelp(flag: string): string {
  switch (flag) {
    case '-c':
      return 'key=value';
    case '--bootstrap':
      return 'host:port';
    case '--region':
      return 'an AWS region such as eu-west-1';
    case '--rate':
      return 'records per second';
    case '--max':
      return 'a whole number of dead-letter records';
    default:
      return 'a value';
  }
}
