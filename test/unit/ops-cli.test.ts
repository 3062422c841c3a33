/**
 * The ops CLI's command line (tools/ops/commands.ts): what each command accepts, the errors that
 * name the flag and what it allows, the OPS_COMMANDS list matching the parser, and the resource
 * names the CLI looks for matching what the CDK app creates.
 */
import { snowflakeConnectorName } from '../../lib/warehouse/snowflake-config';
import {
  DEAD_LETTER_OWNERS,
  OPS_COMMANDS,
  parseOpsArgs,
  UsageError,
  type ParsedArgs,
} from '../../tools/ops/commands';
import { loadOpsEnvironment, resourceNames } from '../../tools/ops/environment';
import { buildApp } from '../support/synth';

function usageError(argv: readonly string[]): string {
  try {
    parseOpsArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

describe('parseOpsArgs', () => {
  test('status with every flag', () => {
    expect(
      parseOpsArgs([
        'status',
        '-c',
        'env=prod',
        '--bootstrap',
        '127.0.0.1:9092',
        '--region=eu-west-1',
        '-c',
        'topics.events.user.partitions=12',
      ]),
    ).toEqual<ParsedArgs>({
      kind: 'status',
      context: { env: 'prod', 'topics.events.user.partitions': '12' },
      bootstrap: '127.0.0.1:9092',
      region: 'eu-west-1',
    });
  });

  test('topics diff', () => {
    expect(parseOpsArgs(['topics', 'diff', '-c', 'env=dev'])).toEqual<ParsedArgs>({
      kind: 'topics diff',
      context: { env: 'dev' },
    });
  });

  test('dlq replay: defaults and every flag', () => {
    expect(parseOpsArgs(['dlq', 'replay', 'enrich', '-c', 'env=dev'])).toEqual<ParsedArgs>({
      kind: 'dlq replay',
      context: { env: 'dev' },
      consumer: 'enrich',
      rate: 50,
      dryRun: false,
    });
    expect(
      parseOpsArgs([
        'dlq',
        'replay',
        '-c',
        'env=staging',
        'snowflake-sink',
        '--rate',
        '2.5',
        '--max',
        '100',
        '--dry-run',
        '--bootstrap',
        'localhost:19092',
      ]),
    ).toEqual<ParsedArgs>({
      kind: 'dlq replay',
      context: { env: 'staging' },
      consumer: 'snowflake-sink',
      rate: 2.5,
      max: 100,
      dryRun: true,
      bootstrap: 'localhost:19092',
    });
  });

  test('help, overall and per command', () => {
    expect(parseOpsArgs([])).toEqual({ kind: 'help' });
    expect(parseOpsArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseOpsArgs(['dlq', 'replay', '--help'])).toEqual({ kind: 'help', command: OPS_COMMANDS[2] });
  });

  test.each([
    [['stats', '-c', 'env=dev'], 'unknown command "stats"; allowed: status, topics diff, dlq replay'],
    [
      ['topics', 'list', '-c', 'env=dev'],
      'unknown command "topics list"; allowed: topics diff (commands: status, topics diff, dlq replay)',
    ],
    [['status'], 'status: -c env=<env> is required'],
    [['status', '-c', 'env=all'], 'status: -c env must name one environment (got "all")'],
    [['status', '-c', 'env'], 'status: -c must be key=value (got "env")'],
    [
      ['status', '-c', 'env=dev', '--rate', '5'],
      'status: unknown flag --rate; allowed: -c, --bootstrap, --region, --help',
    ],
    [
      ['topics', 'diff', '-c', 'env=dev', '--dry-run'],
      'topics diff: unknown flag --dry-run; allowed: -c, --bootstrap, --region, --help',
    ],
    [['status', '-c', 'env=dev', '--bootstrap'], 'status: --bootstrap needs a value (host:port)'],
    [
      ['status', '-c', 'env=dev', '--bootstrap', 'kafka'],
      'status: --bootstrap must be host:port[,host:port] (got "kafka")',
    ],
    [
      ['status', '-c', 'env=dev', '--region', 'Ireland'],
      'status: --region must be an AWS region such as eu-west-1 (got "Ireland")',
    ],
    [
      ['status', '-c', 'env=dev', '--region', 'eu-west-1', '--region', 'eu-west-2'],
      'status: --region given twice',
    ],
    [['status', '-c', 'env=dev', 'extra'], 'status: unexpected argument "extra"'],
    [
      ['dlq', 'replay', '-c', 'env=dev'],
      'dlq replay: expected one <consumer>, one of enrich, aggregate, sessionize, alerting, snowflake-sink (got none)',
    ],
    [
      ['dlq', 'replay', 'ingest', '-c', 'env=dev'],
      'dlq replay: <consumer> must be one of enrich, aggregate, sessionize, alerting, snowflake-sink (got "ingest")',
    ],
    [
      ['dlq', 'replay', 'enrich', '-c', 'env=dev', '--rate', '0'],
      'dlq replay: --rate must be records per second, a number from 0.1 to 100000 (got "0")',
    ],
    [
      ['dlq', 'replay', 'enrich', '-c', 'env=dev', '--rate', 'fast'],
      'dlq replay: --rate must be records per second, a number from 0.1 to 100000 (got "fast")',
    ],
    [
      ['dlq', 'replay', 'enrich', '-c', 'env=dev', '--max', '-1'],
      'dlq replay: --max needs a value (a whole number of dead-letter records)',
    ],
    [
      ['dlq', 'replay', 'enrich', '-c', 'env=dev', '--max', '1.5'],
      'dlq replay: --max must be a whole number >= 1 (got "1.5")',
    ],
    [['dlq', 'replay', 'enrich', '-c', 'env=dev', '--dry-run=yes'], 'dlq replay: --dry-run takes no value'],
  ])('%j is refused: %s', (argv, message) => {
    expect(usageError(argv)).toBe(message);
  });
});

describe('OPS_COMMANDS', () => {
  test('the three commands, with their flags, as the parser accepts them', () => {
    expect(OPS_COMMANDS.map((c) => [c.command, c.flags])).toEqual([
      ['status', ['-c', '--bootstrap', '--region', '--help']],
      ['topics diff', ['-c', '--bootstrap', '--region', '--help']],
      ['dlq replay', ['-c', '--rate', '--max', '--dry-run', '--bootstrap', '--region', '--help']],
    ]);
  });

  const sample: Record<string, string[]> = {
    '-c': ['-c', 'topics.events.user.retention=7d'],
    '--bootstrap': ['--bootstrap', '127.0.0.1:9092'],
    '--region': ['--region', 'eu-west-1'],
    '--rate': ['--rate', '10'],
    '--max': ['--max', '5'],
    '--dry-run': ['--dry-run'],
    '--help': ['--help'],
  };
  test.each(OPS_COMMANDS.flatMap((c) => c.flags.map((f) => [c.command, f] as const)))(
    '%s accepts %s',
    (command, flag) => {
      const base = [...command.split(' '), ...(command === 'dlq replay' ? ['enrich'] : []), '-c', 'env=dev'];
      expect(() => parseOpsArgs([...base, ...sample[flag]!])).not.toThrow();
    },
  );

  test('every usage line names exactly its flags', () => {
    for (const c of OPS_COMMANDS) {
      const named = [...c.usage.matchAll(/(?<=\s|\[)(-c|--[a-z-]+)/g)].map((m) => m[1]);
      expect([...new Set([...named, '--help'])].sort()).toEqual([...c.flags].sort());
    }
  });

  test('the dead-letter owners are those of the catalog', () => {
    expect(DEAD_LETTER_OWNERS).toEqual(['enrich', 'aggregate', 'sessionize', 'alerting', 'snowflake-sink']);
  });
});

describe('resource names', () => {
  test('the cluster, connectors and Flink application the CDK app creates carry the names the CLI looks for', () => {
    const { stacks } = buildApp('dev');
    const config = loadOpsEnvironment({ env: 'dev' });
    const { clusterName, resourcePrefix } = resourceNames(config);
    expect({ clusterName, resourcePrefix }).toEqual({
      clusterName: 'streaming-dev',
      resourcePrefix: 'streaming-dev-',
    });
    expect(stacks.streaming.cluster.clusterName).toBe(clusterName);
    expect(stacks.sources.cdc.connectorName.startsWith(resourcePrefix)).toBe(true);
    expect(stacks.telemetry.sessionize.applicationName.startsWith(resourcePrefix)).toBe(true);
    expect(snowflakeConnectorName(config).startsWith(resourcePrefix)).toBe(true);
  });
});
