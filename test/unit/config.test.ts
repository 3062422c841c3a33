import { ConfigError } from '../../lib/config/errors';
import { loadEnvironments } from '../../lib/config/platform-config';
import { parseDuration, parseSize } from '../../lib/config/units';
import { TOPIC_IDS } from '../../lib/topics/topic-specs';
import { cdkJsonContext, configFor, ENVIRONMENTS } from '../support/synth';

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
      'topics.events.user.retentionMs: unknown setting "retentionMs"; allowed settings: partitions,',
    ],
    [
      'topics.events.usr.partitions',
      '3',
      'topics.events.usr.partitions: unknown topic "events.usr"; known topics: events.user,',
    ],
    ['topics.partitions', '3', 'topics.partitions: expected topics.<topic name>.<setting>'],
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
    expect(message).toContain('environments.prod.topics.telemetry.row: unknown topic "telemetry.row"');
    expect(message).toContain(
      'environments.prod.topics.events.user.partitions: must be between 1 and 10000 (got -1)',
    );
    expect(message).toContain('environments.prod.topics.events.user.colour: unknown setting "colour"');
    expect(message).toContain('environments.prod.topicDefaults.compression: is required');
  });
});
