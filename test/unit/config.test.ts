import * as cxapi from 'aws-cdk-lib/cx-api';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../lib/config/errors';
import { loadEnvironments } from '../../lib/config/platform-config';
import { editDistance, isNearMiss } from '../../lib/config/suggest';
import { parseDuration, parseSize } from '../../lib/config/units';
import { deadLetterSources, TOPIC_IDS, topicName, type TopicId } from '../../lib/topics/topic-specs';
import { cdkJsonContext, configFor, ENVIRONMENTS } from '../support/synth';

const REPO = join(__dirname, '..', '..');

/** Loads with cdk.json plus the given context, expecting a ConfigError; returns its message. */
function configErrorOf(context: Record<string, unknown>): string {
  try {
    loadEnvironments({ ...cdkJsonContext(), ...context });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** The problem lines of the ConfigError (without the heading). */
function problemLines(context: Record<string, unknown>): string[] {
  return configErrorOf(context).split('\n').slice(1);
}

/** Runs the installed CDK CLI in the repository (so that it reads cdk.json); returns its result. */
function cdkCli(args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [join(REPO, 'node_modules', 'aws-cdk', 'bin', 'cdk'), ...args], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true' },
    timeout: 120_000,
  });
  return { status: result.status, stderr: result.stderr };
}

/** cdk.json's context with one environment's object changed. */
type Json = Record<string, any>;

function withEnv(envName: string, change: (env: Json) => void): Record<string, unknown> {
  const context = structuredClone(cdkJsonContext());
  change((context.environments as Record<string, Json>)[envName]!);
  return { ...context, env: envName };
}

describe('units', () => {
  test.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['15m', 900_000],
    ['12h', 43_200_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['60000', 60_000],
    [86_400_000, 86_400_000],
  ])('duration %p is %p ms', (raw, ms) => {
    expect(parseDuration(raw, false)).toEqual({ ok: true, value: ms });
  });

  test.each(['7 days', '1.5h', '-5m', 'infinite', ''])('duration %p is refused without infinite', (raw) => {
    expect(parseDuration(raw, false).ok).toBe(false);
  });

  test('infinite durations and unlimited sizes only where allowed', () => {
    expect(parseDuration('infinite', true)).toEqual({ ok: true, value: -1 });
    expect(parseDuration(-1, true)).toEqual({ ok: true, value: -1 });
    expect(parseSize('unlimited', true)).toEqual({ ok: true, value: -1 });
    expect(parseSize('unlimited', false).ok).toBe(false);
  });

  test.each([
    ['1MiB', 1_048_576],
    ['512KiB', 524_288],
    ['1GB', 1_000_000_000],
    ['2048', 2048],
  ])('size %p is %p bytes', (raw, bytes) => {
    expect(parseSize(raw, false)).toEqual({ ok: true, value: bytes });
  });

  test.each(['1 Mebibyte', '1.5MiB', '1mb', 'lots'])('size %p is refused', (raw) => {
    expect(parseSize(raw, true).ok).toBe(false);
  });
});

describe('environments', () => {
  test('dev is the default and every environment loads', () => {
    expect(loadEnvironments(cdkJsonContext()).map((c) => c.envName)).toEqual(['dev']);
    expect(ENVIRONMENTS).toEqual(['dev', 'staging', 'prod']);
    for (const envName of ENVIRONMENTS) expect(configFor(envName).envName).toBe(envName);
  });

  test('env=all selects every environment', () => {
    expect(loadEnvironments({ ...cdkJsonContext(), env: 'all' }).map((c) => c.envName)).toEqual(ENVIRONMENTS);
  });

  test('every catalog topic is resolved in every environment', () => {
    for (const envName of ENVIRONMENTS)
      expect(Object.keys(configFor(envName).topics).sort()).toEqual([...TOPIC_IDS].sort());
  });

  test('an unknown environment names the key and the allowed values', () => {
    expect(configErrorOf({ env: 'qa' })).toContain(
      'env: unknown environment "qa"; allowed: dev, staging, prod, all',
    );
  });

  test('a malformed environment value names its key', () => {
    const message = configErrorOf(withEnv('prod', (e) => (e.msk.brokerCount = 'six')));
    expect(message).toContain('environments.prod.msk.brokerCount:');
  });

  test('an unknown environment key is refused', () => {
    expect(configErrorOf(withEnv('dev', (e) => (e.msk.brokers = 3)))).toContain('environments.dev.msk:');
  });

  test('account and region are checked when given', () => {
    const message = configErrorOf(
      withEnv('dev', (e) => Object.assign(e, { account: '12345', region: 'Europe' })),
    );
    expect(message).toContain('environments.dev.account: must be a 12-digit AWS account id');
    expect(message).toContain('environments.dev.region: must be an AWS region such as eu-west-1');
  });

  test('broker count must be a multiple of the AZ count', () => {
    expect(configErrorOf(withEnv('prod', (e) => (e.msk.brokerCount = 4)))).toContain(
      'environments.prod.msk.brokerCount: must be a multiple of network.maxAzs 3 (got 4)',
    );
  });

  test('AZ count is 2 or 3', () => {
    expect(configErrorOf(withEnv('dev', (e) => (e.network.maxAzs = 1)))).toContain(
      'environments.dev.network.maxAzs: must be 2 or 3',
    );
  });

  test('cluster default replication and min ISR are bounded', () => {
    expect(configErrorOf(withEnv('dev', (e) => (e.msk.defaultReplicationFactor = 3)))).toContain(
      'environments.dev.msk.defaultReplicationFactor: must be 1..brokerCount 2 (got 3)',
    );
    expect(configErrorOf(withEnv('dev', (e) => (e.msk.minInsyncReplicas = 3)))).toContain(
      'environments.dev.msk.minInsyncReplicas: must be 1..defaultReplicationFactor 2 (got 3)',
    );
  });

  test('log retention must be a CloudWatch period', () => {
    expect(configErrorOf(withEnv('dev', (e) => (e.msk.logRetentionDays = 10)))).toContain(
      'environments.dev.msk.logRetentionDays: must be one of 1, 3, 5, 7, 14,',
    );
  });

  test('all problems are reported at once', () => {
    const message = configErrorOf({
      env: 'prod',
      'topics.events.user.partitions': '0',
      'topics.cdc.orders.compression': 'brotli',
    });
    expect(message).toMatch(/^Invalid platform configuration \(2 problems\)/);
  });
});

describe('topic settings', () => {
  test('cdk.json defaults, design defaults and per-topic settings merge in order', () => {
    const prod = configFor('prod');
    expect(prod.topics.telemetryRaw.settings.partitions).toBe(48);
    expect(prod.topics.telemetryRaw.settings.retention).toBe(3 * 86_400_000);
    expect(prod.topics.eventsAggregates.settings.partitions).toBe(12);
    expect(prod.topics.cdcOrders.settings.cleanupPolicy).toBe('compact');
    expect(prod.topics.cdcOrders.settings.deleteRetention).toBe(7 * 86_400_000);
    expect(prod.topics.eventsUser.settings.cleanupPolicy).toBe('delete');
  });

  test('a -c override changes exactly that topic and setting', () => {
    const before = configFor('prod');
    const after = configFor('prod', { 'topics.telemetry.raw.partitions': '96' });
    expect(after.topics.telemetryRaw.settings).toEqual({
      ...before.topics.telemetryRaw.settings,
      partitions: 96,
    });
    expect(after.topics.telemetryRaw.sources.partitions).toBe('topics.telemetry.raw.partitions');
    for (const id of TOPIC_IDS.filter((t) => t !== 'telemetryRaw'))
      expect(after.topics[id]).toEqual(before.topics[id]);
  });

  test.each([
    ['topics.events.user.retention', '12h', 'retention', 43_200_000],
    ['topics.events.user.retentionBytes', '50GiB', 'retentionBytes', 50 * 1024 ** 3],
    ['topics.events.user.maxMessageBytes', '2MiB', 'maxMessageBytes', 2 * 1024 ** 2],
    ['topics.events.user.compression', 'zstd', 'compression', 'zstd'],
    ['topics.events.user.minInsyncReplicas', '1', 'minInsyncReplicas', 1],
    ['topics.events.user.replicationFactor', '2', 'replicationFactor', 2],
    ['topics.events.user.cleanupPolicy', 'compact,delete', 'cleanupPolicy', 'compact,delete'],
    ['topics.cdc.orders.deleteRetention', '2d', 'deleteRetention', 2 * 86_400_000],
  ])('every setting can be overridden: %s=%s', (key, value, setting, expected) => {
    const topics = configFor('staging', { [key]: value }).topics;
    const id = key.startsWith('topics.cdc') ? 'cdcOrders' : 'eventsUser';
    expect(topics[id].settings[setting as keyof (typeof topics)['eventsUser']['settings']]).toEqual(expected);
  });

  test.each([
    [
      'topics.telemetry.raw.partitions',
      '0',
      'topics.telemetry.raw.partitions: must be between 1 and 10000 (got 0)',
    ],
    [
      'topics.telemetry.raw.partitions',
      'many',
      'topics.telemetry.raw.partitions: expected a whole number (got "many")',
    ],
    [
      'topics.events.user.replicationFactor',
      '4',
      'topics.events.user.replicationFactor: must be between 1 and the broker count 3 (got 4)',
    ],
    [
      'topics.events.user.minInsyncReplicas',
      '4',
      'topics.events.user.minInsyncReplicas: must be between 1 and replicationFactor 3 (got 4)',
    ],
    ['topics.events.user.retention', '7 days', 'topics.events.user.retention: expected a duration such as'],
    ['topics.events.user.retention', '30s', 'topics.events.user.retention: must be at least 1m (got 30s)'],
    [
      'topics.events.user.retentionBytes',
      '10 gigs',
      'topics.events.user.retentionBytes: expected a size such as',
    ],
    [
      'topics.events.user.maxMessageBytes',
      '64MiB',
      'topics.events.user.maxMessageBytes: must be between 1KiB and 8MiB (got 64MiB)',
    ],
    [
      'topics.events.user.cleanupPolicy',
      'compakt',
      'topics.events.user.cleanupPolicy: must be one of delete | compact | compact,delete (got "compakt")',
    ],
    [
      'topics.events.user.compression',
      'brotli',
      'topics.events.user.compression: must be one of producer | zstd | lz4 | snappy | gzip | uncompressed',
    ],
    [
      'topics.events.user.retentionMs',
      '1d',
      'topics.events.user.retentionMs: unknown setting "retentionMs" (did you mean topics.events.user.retention?); allowed settings: partitions,',
    ],
    [
      'topics.events.usr.partitions',
      '3',
      'topics.events.usr.partitions: unknown topic "events.usr" (did you mean topics.events.user.partitions?); known topics: events.user,',
    ],
    ['topics.partitions', '3', 'topics.partitions: expected topics.<topic name>.<setting>'],
    [
      'topics.telemetry.raw',
      '5',
      'topics.telemetry.raw: expected topics.telemetry.raw.<setting>; settings: partitions, replicationFactor,',
    ],
    [
      'topics.telemetry.raw.Partitions',
      '5',
      'topics.telemetry.raw.Partitions: unknown setting "Partitions" (did you mean topics.telemetry.raw.partitions?)',
    ],
    [
      'topics.telemetry-raw.partitions',
      '5',
      'topics.telemetry-raw.partitions: unknown topic "telemetry-raw" (did you mean topics.telemetry.raw.partitions?)',
    ],
    // The settings the engine test also gives the real broker (test/engines/kafka-topics.test.ts).
    [
      'topics.events.user.minInsyncReplicas',
      '0',
      'topics.events.user.minInsyncReplicas: must be between 1 and 64 (got 0)',
    ],
    [
      'topics.events.user.maxMessageBytes',
      '-5',
      'topics.events.user.maxMessageBytes: expected a size such as',
    ],
    [
      'topics.events.user.retentionMsx',
      '1d',
      // Too far from any setting for a guess: the message lists them instead.
      'topics.events.user.retentionMsx: unknown setting "retentionMsx"; allowed settings: partitions,',
    ],
    [
      'topics.cdc.orders.retention',
      '7d',
      'topics.cdc.orders.retention: has no effect with cleanupPolicy=compact',
    ],
    [
      'topics.events.user.deleteRetention',
      '1d',
      'topics.events.user.deleteRetention: has no effect with cleanupPolicy=delete',
    ],
  ])('a bad override %s=%s fails naming the key', (key, value, expected) => {
    const message = configErrorOf({ env: 'staging', [key]: value });
    expect(message).toContain(expected);
  });

  test('min ISR above the replication factor names the key and the bound', () => {
    const message = configErrorOf({
      env: 'staging',
      'topics.events.user.replicationFactor': '2',
      'topics.events.user.minInsyncReplicas': '3',
    });
    expect(message).toContain(
      'topics.events.user.minInsyncReplicas: must be between 1 and replicationFactor 2 (got 3)',
    );
  });

  test('an inherited min ISR above a lowered replication factor names where the ISR came from', () => {
    const message = configErrorOf({ env: 'staging', 'topics.events.user.replicationFactor': '1' });
    expect(message).toContain(
      'environments.staging.topicDefaults.minInsyncReplicas: must be between 1 and replicationFactor 1 (got 2)',
    );
  });

  test('cdk.json per-topic settings are checked too', () => {
    const message = configErrorOf(
      withEnv('prod', (e) => {
        e.topics['telemetry.row'] = { partitions: 3 };
        e.topics['events.user'] = { partitions: -1, colour: 'red' };
        delete e.topicDefaults.compression;
      }),
    );
    expect(message).toContain(
      'environments.prod.topics.telemetry.row: unknown topic "telemetry.row" (did you mean telemetry.raw?); known topics:',
    );
    expect(message).toContain(
      'environments.prod.topics.events.user.partitions: must be between 1 and 10000 (got -1)',
    );
    expect(message).toContain('environments.prod.topics.events.user.colour: unknown setting "colour"');
    expect(message).toContain('environments.prod.topicDefaults.compression: is required');
  });
});

describe('misspelt context keys', () => {
  const overrideHint = '-c topics.<topic name>.<setting>=<value>';
  test.each([
    ['topic.telemetry.raw.partitions', '0', 'did you mean topics.telemetry.raw.partitions?'],
    ['topcs.telemetry.raw.partitions', '0', 'did you mean topics.telemetry.raw.partitions?'],
    ['Topics.telemetry.raw.partitions', '0', 'did you mean topics.telemetry.raw.partitions?'],
    ['topics:telemetry.raw.partitions', '0', 'did you mean topics.telemetry.raw.partitions?'],
    ['topics_telemetry.raw.partitions', '0', 'did you mean topics.telemetry.raw.partitions?'],
    ['topic.telemetry-raw.partiton', '0', 'did you mean topics.telemetry.raw.partitions?'],
    ['topic.events.usr.retentionMs', '1d', 'did you mean topics.events.user.retention?'],
    [
      'topics',
      '5',
      `a topic setting is overridden with ${overrideHint}, e.g. topics.telemetry.raw.partitions`,
    ],
    [
      'topic',
      '5',
      `a topic setting is overridden with ${overrideHint}, e.g. topics.telemetry.raw.partitions`,
    ],
    ['envs', 'prod', 'did you mean env?'],
    ['ENV', 'prod', 'did you mean env?'],
    ['enviroments', {}, 'did you mean environments?'],
    ['environment', {}, 'did you mean environments?'],
    ['Environments', {}, 'did you mean environments?'],
    ['platformname', 'x', 'did you mean platformName?'],
    ['platform-name', 'x', 'did you mean platformName?'],
    ['platform_name', 'x', 'did you mean platformName?'],
    ['platfromName', 'x', 'did you mean platformName?'],
  ])('-c %s fails with a suggestion', (key, value, suggestion) => {
    expect(problemLines({ env: 'staging', [key]: value })).toEqual([
      `  - ${key}: not a context key of the platform; ${suggestion}`,
    ]);
  });

  test('a key inside environments cannot be set with -c, and the message says where to change it', () => {
    expect(problemLines({ env: 'prod', 'environments.prod.msk.brokerCount': '9' })).toEqual([
      '  - environments.prod.msk.brokerCount: -c replaces a whole context key and environments is read whole: ' +
        `change environments.prod.msk.brokerCount in cdk.json (only topic settings have per-value overrides: ${overrideHint})`,
    ]);
  });

  test('a misspelt key is reported once, also with env=all', () => {
    expect(problemLines({ env: 'all', 'topic.telemetry.raw.partitions': '0' })).toEqual([
      '  - topic.telemetry.raw.partitions: not a context key of the platform; did you mean topics.telemetry.raw.partitions?',
    ]);
  });

  test('near misses: case, separators, a trailing s, one edit for short names and two for long ones', () => {
    expect(editDistance('topcis', 'topics')).toBe(1);
    expect(editDistance('enviroment', 'environments')).toBe(2);
    expect(isNearMiss('platform_name', 'platformName')).toBe(true);
    expect(isNearMiss('envs', 'env')).toBe(true);
    // Three letters or fewer: only case and a trailing s, so that short keys of other tools pass.
    expect(isNearMiss('en', 'env')).toBe(false);
    expect(isNearMiss('enc', 'env')).toBe(false);
    expect(isNearMiss('aws', 'env')).toBe(false);
    expect(isNearMiss('tpcs', 'topics')).toBe(false);
  });

  /** What CDK libraries and tools may put in context besides the CLI, with realistic values. */
  const OTHER_TOOL_KEYS: Record<string, unknown> = {
    'aws-cdk:enableDiffNoFail': true,
    'acknowledged-issue-numbers': [34892],
    'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
    'ssm:account=123456789012:parameterName=/streaming/dev/topics/events.user:region=eu-west-1':
      'events.user',
    'vpc-provider:account=123456789012:filter.vpc-id=vpc-0abc:region=eu-west-1:returnAsymmetricSubnets=true':
      {},
    'hosted-zone:account=123456789012:domainName=example.com:region=eu-west-1': { Id: '/hostedzone/Z1' },
    'ami:account=123456789012:filters.image-type.0=machine:region=eu-west-1': 'ami-0123',
    'key-provider:account=123456789012:aliasName=alias/streaming:region=eu-west-1': { keyId: 'k' },
    'security-group:account=123456789012:region=eu-west-1:securityGroupId=sg-1': { securityGroupId: 'sg-1' },
    'assets-ecr-repository-name': 'cdk-assets',
    '@aws-cdk/core:bootstrapQualifier': 'hnb659fds',
    '@aws-cdk/core:permissionsBoundary': { name: 'boundary' },
    '@aws-cdk/iam:customizeRoles': { usePrecreatedRoles: {} },
    '@aws-cdk/core.TreeMetadata:maxNodes': 1000,
    '@aws-cdk/core.slowSynthThreshold': 10,
    '@aws-cdk/aws-ec2.securityGroupDisableInlineRules': true,
    'aws:cdk:disable-stack-trace': true,
  };

  test('every feature flag and context key of aws-cdk-lib, and what other tools add, passes', () => {
    const cdkKeys = [
      ...Object.keys(cxapi.FLAGS),
      ...(Object.values(cxapi) as unknown[]).filter(
        (v): v is string => typeof v === 'string' && /^[@a-z][\w@./:-]*$/i.test(v),
      ),
    ];
    expect(cdkKeys.length).toBeGreaterThan(100);
    const context = {
      ...Object.fromEntries(cdkKeys.map((k) => [k, true])),
      ...OTHER_TOOL_KEYS,
      ...cdkJsonContext(),
      env: 'all',
    };
    expect(loadEnvironments(context).map((c) => c.envName)).toEqual(ENVIRONMENTS);
  });

  test('the context the CDK CLI really passes (cdk.json plus what the CLI adds) passes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'context-keys-'));
    const app = join(dir, 'dump-context.js');
    const captured = join(dir, 'context.json');
    writeFileSync(
      app,
      `require('fs').writeFileSync(${JSON.stringify(captured)}, process.env.CDK_CONTEXT_JSON || '{}');\n` +
        `const cdk = require(${JSON.stringify(join(REPO, 'node_modules', 'aws-cdk-lib'))});\n` +
        `const app = new cdk.App(); new cdk.Stack(app, 'Probe'); app.synth();\n`,
    );
    const run = cdkCli(['synth', '--app', `node ${app}`, '-q', '-o', join(dir, 'out'), '-c', 'env=all']);
    expect(run.stderr).not.toContain('Error');
    const context = JSON.parse(readFileSync(captured, 'utf8')) as Record<string, unknown>;
    rmSync(dir, { recursive: true, force: true });
    // The CLI adds keys of its own (aws:cdk:*), so this is more than cdk.json.
    expect(Object.keys(context)).toEqual(
      expect.arrayContaining(['aws:cdk:bundling-stacks', 'cli-telemetry']),
    );
    expect(loadEnvironments(context).map((c) => c.envName)).toEqual(ENVIRONMENTS);
  });

  test('cdk synth with a misspelt override exits non-zero with the suggestion, before building anything', () => {
    const out = mkdtempSync(join(tmpdir(), 'context-keys-synth-'));
    const run = cdkCli(['synth', '-q', '-o', out, '-c', 'env=all', '-c', 'topic.telemetry.raw.partitions=0']);
    rmSync(out, { recursive: true, force: true });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      'Invalid platform configuration (1 problem):\n' +
        '  - topic.telemetry.raw.partitions: not a context key of the platform; did you mean topics.telemetry.raw.partitions?\n',
    );
  });
});

describe('env=all: every problem names its environments', () => {
  test('an override that fails in some environments names exactly those, one line per distinct message', () => {
    expect(
      problemLines({
        env: 'all',
        'topics.telemetry.raw.replicationFactor': '4',
        'topics.events.user.partitions': '0',
      }),
    ).toEqual([
      '  - topics.events.user.partitions (dev, staging, prod): must be between 1 and 10000 (got 0); allowed: whole number 1..10000 (partitions can only grow on a live topic)',
      '  - topics.telemetry.raw.replicationFactor (dev): must be between 1 and the broker count 2 (got 4)',
      '  - topics.telemetry.raw.replicationFactor (staging): must be between 1 and the broker count 3 (got 4)',
    ]);
  });

  test('problems of one environment in cdk.json carry its name too; keys outside environments do not', () => {
    const context = structuredClone(cdkJsonContext()) as Json;
    context.environments.prod.msk.brokerCount = 4;
    expect(problemLines({ ...context, env: 'all', platformName: 'X' })).toEqual([
      '  - platformName: must be 2-21 characters of a-z, 0-9 and -, starting with a letter',
      '  - environments.prod.msk.brokerCount (prod): must be a multiple of network.maxAzs 3 (got 4)',
    ]);
  });

  test('the issues carry their environments for programmatic use', () => {
    let error: unknown;
    try {
      loadEnvironments({ ...cdkJsonContext(), env: 'all', 'topics.telemetry.raw.replicationFactor': '3' });
    } catch (err) {
      error = err;
    }
    expect((error as ConfigError).issues).toEqual([
      {
        key: 'topics.telemetry.raw.replicationFactor',
        message: 'must be between 1 and the broker count 2 (got 3)',
        environments: ['dev'],
      },
    ]);
  });

  test('with one environment the message carries no environment', () => {
    expect(problemLines({ env: 'dev', 'topics.telemetry.raw.replicationFactor': '3' })).toEqual([
      '  - topics.telemetry.raw.replicationFactor: must be between 1 and the broker count 2 (got 3)',
    ]);
  });
});

describe('dead-letter topics allow larger messages than their sources', () => {
  const MiB = 1024 * 1024;
  const KiB = 1024;

  test('which topics feed which dead-letter topic', () => {
    const feeds = Object.fromEntries(
      TOPIC_IDS.filter((id) => deadLetterSources(id).length > 0).map((id) => [id, deadLetterSources(id)]),
    );
    expect(feeds).toEqual({
      dlqEnrich: ['eventsUser', 'cdcOrders'],
      dlqAggregate: ['eventsEnriched'],
      dlqSessionize: ['telemetryRaw'],
      dlqAlerting: ['telemetryAlerts'],
      dlqSnowflakeSink: ['eventsAggregates'],
    });
  });

  test.each(ENVIRONMENTS)(
    'in %s every dead-letter topic takes 1.25 MiB and its 1 MiB sources stay at 1 MiB',
    (envName) => {
      const topics = configFor(envName).topics;
      const dlqs: TopicId[] = [
        'dlqEnrich',
        'dlqAggregate',
        'dlqSessionize',
        'dlqAlerting',
        'dlqSnowflakeSink',
      ];
      for (const id of dlqs)
        expect({ id, max: topics[id].settings.maxMessageBytes }).toEqual({ id, max: 1_310_720 });
      for (const id of [
        'eventsUser',
        'cdcOrders',
        'eventsEnriched',
        'telemetryRaw',
        'telemetryAlerts',
      ] as const)
        expect({ id, max: topics[id].settings.maxMessageBytes }).toEqual({ id, max: 1_048_576 });
    },
  );

  test('a dead-letter topic follows its largest source unless set itself', () => {
    const topics = configFor('prod', { 'topics.cdc.orders.maxMessageBytes': '2MiB' }).topics;
    expect(topics.dlqEnrich.settings.maxMessageBytes).toBe(2 * MiB + 256 * KiB);
    expect(topics.dlqEnrich.sources.maxMessageBytes).toBe(
      'topics.cdc.orders.maxMessageBytes + 256KiB dead-letter headroom',
    );
    expect(topics.dlqAggregate.settings.maxMessageBytes).toBe(MiB + 256 * KiB);
  });

  test('a dead-letter topic may be set larger than required', () => {
    const topics = configFor('prod', { 'topics.dlq.enrich.maxMessageBytes': '4MiB' }).topics;
    expect(topics.dlqEnrich.settings.maxMessageBytes).toBe(4 * MiB);
  });

  test('an override that leaves a dead-letter topic no larger than a source fails naming both keys and the range', () => {
    expect(problemLines({ env: 'prod', 'topics.dlq.enrich.maxMessageBytes': '1MiB' })).toEqual([
      '  - topics.dlq.enrich.maxMessageBytes: must be between 1280KiB and 8MiB: larger than the 1MiB of its source ' +
        'events.user (environments.prod.topicDefaults.maxMessageBytes) by the 256KiB dead-letter headroom (got 1MiB)',
    ]);
    expect(
      problemLines({
        env: 'prod',
        'topics.telemetry.raw.maxMessageBytes': '3MiB',
        'topics.dlq.sessionize.maxMessageBytes': '3MiB',
      }),
    ).toEqual([
      '  - topics.dlq.sessionize.maxMessageBytes: must be between 3328KiB and 8MiB: larger than the 3MiB of its source ' +
        'telemetry.raw (topics.telemetry.raw.maxMessageBytes) by the 256KiB dead-letter headroom (got 3MiB)',
    ]);
  });

  test('a cdk.json setting of a dead-letter topic is checked the same way', () => {
    const context = structuredClone(cdkJsonContext()) as Json;
    context.environments.staging.topics['dlq.alerting'] = { maxMessageBytes: '1MiB' };
    expect(problemLines({ ...context, env: 'staging' })).toEqual([
      '  - environments.staging.topics.dlq.alerting.maxMessageBytes: must be between 1280KiB and 8MiB: larger than the ' +
        '1MiB of its source telemetry.alerts (environments.staging.topicDefaults.maxMessageBytes) by the 256KiB dead-letter headroom (got 1MiB)',
    ]);
  });

  test('a source too large for its dead-letter topic to exceed within 8 MiB fails naming both', () => {
    expect(problemLines({ env: 'dev', 'topics.events.enriched.maxMessageBytes': '8MiB' })).toEqual([
      '  - topics.events.enriched.maxMessageBytes: must be between 1KiB and 7936KiB: its records are dead-lettered into ' +
        'dlq.aggregate, whose maxMessageBytes must exceed it by 256KiB and stay within 8MiB (got 8MiB)',
    ]);
    expect(
      configFor('dev', { 'topics.events.enriched.maxMessageBytes': '7936KiB' }).topics.dlqAggregate.settings
        .maxMessageBytes,
    ).toBe(8 * MiB);
  });
});

describe('environments.<env>.events', () => {
  const lines = (envName: string, change: (env: Json) => void) => problemLines(withEnv(envName, change));
  const at = (envName: string) => `  - environments.${envName}.events`;

  test('every environment of cdk.json has a valid events section', () => {
    expect(ENVIRONMENTS.map((envName) => configFor(envName).events.outageBoundMinutes)).toEqual([15, 15, 15]);
  });

  test('scalar ranges name the key and the range', () => {
    expect(lines('dev', (e) => (e.events.outageBoundMinutes = 61))).toEqual([
      `${at('dev')}.outageBoundMinutes: must be 1..60 minutes`,
    ]);
    expect(lines('dev', (e) => (e.events.dedupeHorizonDays = 0))).toEqual([
      `${at('dev')}.dedupeHorizonDays: must be 1..35 days`,
    ]);
    expect(lines('dev', (e) => (e.events.allowedLatenessSeconds = 86401))).toEqual([
      `${at('dev')}.allowedLatenessSeconds: must be 0..86400 seconds`,
    ]);
  });

  test('window sizes are ISO-8601 durations that divide a day, 1..4 distinct', () => {
    expect(lines('dev', (e) => (e.events.windows = ['PT7M', 'PT1H', 'P2D', 'PT5H']))).toEqual([
      `${at('dev')}.windows.0: must be an ISO-8601 duration PT<n>M, PT<n>H or P1D that divides a day evenly`,
      `${at('dev')}.windows.2: must be an ISO-8601 duration PT<n>M, PT<n>H or P1D that divides a day evenly`,
      `${at('dev')}.windows.3: must be an ISO-8601 duration PT<n>M, PT<n>H or P1D that divides a day evenly`,
    ]);
    expect(lines('dev', (e) => (e.events.windows = ['PT60M', 'PT1H']))).toEqual([
      `${at('dev')}.windows: must list 1..4 distinct window sizes (got PT60M, PT1H)`,
    ]);
    expect(lines('dev', (e) => (e.events.windows = []))).toEqual([
      `${at('dev')}.windows: must list 1..4 distinct window sizes`,
    ]);
    expect(configFor('dev', {}).events.windows).toEqual(['PT1M', 'PT1H']);
  });

  test('dimensions are a distinct subset of type, country', () => {
    expect(lines('dev', (e) => (e.events.dimensions = ['type', 'type']))).toEqual([
      `${at('dev')}.dimensions: must list 1..2 distinct dimensions of type, country (got type, type)`,
    ]);
    expect(lines('dev', (e) => (e.events.dimensions = []))).toEqual([
      `${at('dev')}.dimensions: must list 1..2 distinct dimensions of type, country`,
    ]);
  });

  test('consumer ranges, pollers, record age and reserved concurrency', () => {
    expect(lines('dev', (e) => (e.events.consumers.enrich.retryAttempts = 11))).toEqual([
      `${at('dev')}.consumers.enrich.retryAttempts: must be 0..10 (a Kafka on-failure destination caps retries at 10)`,
    ]);
    expect(lines('dev', (e) => (e.events.consumers.enrich.batchSize = 10001))).toEqual([
      `${at('dev')}.consumers.enrich.batchSize: must be 1..10000 records`,
    ]);
    expect(lines('dev', (e) => (e.events.consumers.aggregate.maxBatchingWindowSeconds = 301))).toEqual([
      `${at('dev')}.consumers.aggregate.maxBatchingWindowSeconds: must be 0..300 seconds`,
    ]);
    expect(lines('prod', (e) => (e.events.consumers.aggregate.maxPollers = 1))).toEqual([
      `${at('prod')}.consumers.aggregate.maxPollers: must be minPollers 2..2000 (got 1)`,
    ]);
    expect(lines('dev', (e) => (e.events.consumers.aggregate.maxRecordAgeSeconds = 1200))).toEqual([
      `${at('dev')}.consumers.aggregate.maxRecordAgeSeconds: must be at least 2 x events.outageBoundMinutes = 1800 seconds (got 1200)`,
    ]);
    expect(lines('dev', (e) => (e.events.consumers.aggregate.maxRecordAgeSeconds = 30))).toEqual([
      `${at('dev')}.consumers.aggregate.maxRecordAgeSeconds: must be -1 (never discard by age) or 60..604800 seconds`,
    ]);
    // A finite age would dead-letter the order history of the compacted topic on the first read.
    expect(lines('dev', (e) => (e.events.consumers.enrich.maxRecordAgeSeconds = 3600))).toEqual([
      `${at('dev')}.consumers.enrich.maxRecordAgeSeconds: must be -1 (never discard by age): enrich reads the compacted ${topicName('cdcOrders')}, whose records are older than any age (got 3600)`,
    ]);
    const finite = loadEnvironments({
      ...cdkJsonContext(),
      ...withEnv('dev', (e) => (e.events.consumers.aggregate.maxRecordAgeSeconds = 3600)),
    });
    expect(finite[0]!.events.consumers.aggregate.maxRecordAgeSeconds).toBe(3600);
    expect(lines('prod', (e) => (e.events.consumers.aggregate.reservedConcurrency = 12))).toEqual([
      `${at('prod')}.consumers.aggregate.reservedConcurrency: must be at least the partitions of ${topicName('eventsEnriched')} = 24 (one invocation per partition at a time; got 12)`,
    ]);
  });

  test('a timeout beyond 900 s names the keys and the arithmetic', () => {
    expect(lines('dev', (e) => (e.events.consumers.enrich.retryAttempts = 0))).toEqual([
      `${at('dev')}.consumers.enrich.retryAttempts: the function timeout, retry budget ceil(events.outageBoundMinutes 15 x 60 / (retryAttempts 0 + 1)) = 900 s + 60 s headroom = 960 s, exceeds Lambda's 900 s: raise retryAttempts or lower events.outageBoundMinutes`,
    ]);
  });

  test('OpenSearch: dedicated masters, zone awareness and Multi-AZ with Standby rules', () => {
    expect(lines('dev', (e) => (e.events.opensearch.dedicatedMasterNodes = 2))).toEqual([
      `${at('dev')}.opensearch.dedicatedMasterNodes: must be 0 or 3`,
    ]);
    expect(lines('dev', (e) => (e.events.opensearch.dedicatedMasterNodes = 3))).toEqual([
      `${at('dev')}.opensearch.dedicatedMasterInstanceType: must be set when dedicatedMasterNodes is 3`,
    ]);
    expect(lines('staging', (e) => (e.events.opensearch.dataNodes = 4))).toEqual([
      `${at('staging')}.opensearch.dataNodes: must be 1 or a multiple of network.maxAzs 3 (got 4)`,
    ]);
    expect(lines('dev', (e) => (e.events.opensearch.multiAzWithStandby = true))).toEqual([
      `${at('dev')}.opensearch.dataNodes: must be a multiple of network.maxAzs 2 (got 1)`,
      `${at('dev')}.opensearch.multiAzWithStandby: needs network.maxAzs 3 (got 2)`,
      `${at('dev')}.opensearch.multiAzWithStandby: needs dedicatedMasterNodes 3 (got 0)`,
      `${at('dev')}.opensearch.dataNodeInstanceType: must not be a T2/T3 type with multiAzWithStandby (got t3.medium.search)`,
    ]);
  });
});
