/**
 * The options of a local run and their command-line form (`npm run local -- ...`).
 */
import { resolve } from 'node:path';
import { ENGINES_DIR } from '../../test/engines/harness/kafka';
import { SOURCE_NAMES, type SourceName } from './report';

export interface LocalOptions {
  /** How long the generators run, in seconds. */
  readonly durationSeconds: number;
  /** App events per second, through the ingest handler. */
  readonly eventsRate: number;
  /** Order changes (insert, update, delete) per second in PostgreSQL. */
  readonly ordersRate: number;
  /** Simulated devices (one MQTT connection each). */
  readonly devices: number;
  /** Telemetry readings per second over all devices. */
  readonly readingsRate: number;
  /** Users the app events and orders belong to. */
  readonly users: number;
  /** Seed of every generator. */
  readonly seed: number;
  readonly sources: readonly SourceName[];
  /** The environment of cdk.json whose configuration the run takes (`-c env=<name>`). */
  readonly envName: string;
  /** Further `-c key=value` context, as `cdk synth -c` takes it (e.g. topic overrides). */
  readonly context: Readonly<Record<string, string>>;
  /** Keep the run's directory (logs, Kafka data, lake, OpenSearch data) after the run. */
  readonly keep: boolean;
  /** The run's directory; removed at the start of the next run. */
  readonly dir: string;
  /** Longest wait after the generators stopped for everything to be consumed, in seconds. */
  readonly drainSeconds: number;
  /** One latency probe event per this many ms (0: none). */
  readonly probeIntervalMs: number;
  /** Share of telemetry readings above the temperature limit (each raises an alert). */
  readonly hotShare: number;
  /** The sessionize job's checkpoint interval (lake files commit on checkpoints), in seconds. */
  readonly checkpointSeconds: number;
}

export const DEFAULT_OPTIONS: LocalOptions = {
  durationSeconds: 60,
  eventsRate: 20,
  ordersRate: 2,
  devices: 100,
  readingsRate: 20,
  users: 50,
  seed: 1,
  sources: SOURCE_NAMES,
  envName: 'dev',
  context: {},
  keep: false,
  dir: resolve(ENGINES_DIR, 'local'),
  drainSeconds: 120,
  probeIntervalMs: 1000,
  hotShare: 0.02,
  checkpointSeconds: 5,
};

export const USAGE = `npm run local -- [options]

  --duration <s>         how long the generators run (default ${DEFAULT_OPTIONS.durationSeconds})
  --events-rate <n>      app events per second through the ingest handler (default ${DEFAULT_OPTIONS.eventsRate})
  --orders-rate <n>      order changes per second in PostgreSQL (default ${DEFAULT_OPTIONS.ordersRate})
  --devices <n>          simulated MQTT devices (default ${DEFAULT_OPTIONS.devices})
  --readings-rate <n>    telemetry readings per second over all devices (default ${DEFAULT_OPTIONS.readingsRate})
  --users <n>            users of the app events and orders (default ${DEFAULT_OPTIONS.users})
  --seed <n>             seed of every generator (default ${DEFAULT_OPTIONS.seed})
  --sources <list>       events,orders,telemetry (default all)
  -c env=<name>          configuration from cdk.json (default dev); other -c key=value as cdk synth takes them
  --drain <s>            longest wait for everything to be consumed after the generators stop (default ${DEFAULT_OPTIONS.drainSeconds})
  --probe-interval <ms>  one latency probe event per interval, 0 for none (default ${DEFAULT_OPTIONS.probeIntervalMs})
  --hot-share <x>        share of readings above the temperature limit (default ${DEFAULT_OPTIONS.hotShare})
  --checkpoint <s>       the sessionize job's checkpoint interval (default ${DEFAULT_OPTIONS.checkpointSeconds}; deployed: the config's)
  --dir <path>           the run's directory (default .engines/local)
  --keep                 keep the run's directory (logs, Kafka data, lake, OpenSearch data)
  -h, --help             this text`;

/** Parses the command line; throws with a message naming the option on a bad value. */
export function parseLocalArgs(argv: readonly string[]): LocalOptions | 'help' {
  const options: { -readonly [K in keyof LocalOptions]: LocalOptions[K] } = {
    ...DEFAULT_OPTIONS,
    context: {},
  };
  const context: Record<string, string> = {};
  const number = (name: string, value: string | undefined, min: number, integer = true): number => {
    const n = Number(value);
    if (
      value === undefined ||
      value.trim() === '' ||
      !Number.isFinite(n) ||
      n < min ||
      (integer && !Number.isInteger(n))
    )
      throw new Error(
        `--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min} (got ${value ?? 'nothing'})`,
      );
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '--duration':
        options.durationSeconds = number('duration', value(), 1);
        break;
      case '--events-rate':
        options.eventsRate = number('events-rate', value(), 0, false);
        break;
      case '--orders-rate':
        options.ordersRate = number('orders-rate', value(), 0, false);
        break;
      case '--devices':
        options.devices = number('devices', value(), 1);
        break;
      case '--readings-rate':
        options.readingsRate = number('readings-rate', value(), 0, false);
        break;
      case '--users':
        options.users = number('users', value(), 1);
        break;
      case '--seed':
        options.seed = number('seed', value(), 0);
        break;
      case '--drain':
        options.drainSeconds = number('drain', value(), 0);
        break;
      case '--probe-interval':
        options.probeIntervalMs = number('probe-interval', value(), 0);
        break;
      case '--hot-share': {
        const share = number('hot-share', value(), 0, false);
        if (share > 1) throw new Error(`--hot-share must be between 0 and 1 (got ${share})`);
        options.hotShare = share;
        break;
      }
      case '--checkpoint':
        options.checkpointSeconds = number('checkpoint', value(), 1);
        break;
      case '--dir':
        options.dir = resolve(value() ?? '');
        break;
      case '--keep':
        options.keep = true;
        break;
      case '--sources': {
        const list = (value() ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const unknown = list.filter((s) => !(SOURCE_NAMES as readonly string[]).includes(s));
        if (list.length === 0 || unknown.length > 0)
          throw new Error(
            `--sources takes a list of ${SOURCE_NAMES.join(', ')} (got ${unknown.join(', ') || 'nothing'})`,
          );
        options.sources = SOURCE_NAMES.filter((s) => list.includes(s));
        break;
      }
      case '-c':
      case '--context': {
        const pair = value() ?? '';
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new Error(`-c takes key=value (got ${pair || 'nothing'})`);
        const key = pair.slice(0, eq);
        if (key === 'env') options.envName = pair.slice(eq + 1);
        else context[key] = pair.slice(eq + 1);
        break;
      }
      default:
        throw new Error(`unknown option ${arg}; see --help`);
    }
  }
  options.context = context;
  return options;
}
