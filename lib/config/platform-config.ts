/**
 * The platform's typed configuration: cdk.json context plus `-c` overrides, checked once here at
 * the edge. Constructs receive an {@link EnvironmentConfig}; nothing else reads context.
 *
 * Context keys:
 *   - `env`: the environment to synthesize (`dev` by default), or `all` for every environment;
 *   - `platformName`: prefix of resource names, SSM parameters and exports;
 *   - `environments.<env>`: one object per environment (see cdk.json and README);
 *   - `topics.<topic>.<setting>`: command-line overrides of any topic setting.
 * Any other key that is a near miss of these fails synth with a suggestion (context-keys.ts).
 */
import { z } from 'zod';
import { resolveTopics, suggestTopicOverride, type ResolvedTopic } from '../topics/topic-settings';
import { TOPIC_IDS, type TopicId } from '../topics/topic-specs';
import { checkContextKeys } from './context-keys';
import { checkApiGatewayAccountOwners } from './api-gateway-account';
import { IssueCollector } from './errors';
import { checkWarehouse, warehouseSchema, type WarehouseConfig } from './warehouse-config';

export const ALL_ENVIRONMENTS = 'all';
export const DEFAULT_ENVIRONMENT = 'dev';

/** CloudWatch Logs retention periods that CloudFormation accepts. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const retentionDays = z.number().refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
  message: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
});

const intRange = (min: number, max: number, unit = '') =>
  z
    .number()
    .int(`must be an integer ${min}..${max}${unit}`)
    .min(min, `must be ${min}..${max}${unit}`)
    .max(max, `must be ${min}..${max}${unit}`);

/** An MSK consumer's event source mapping and function (enrich, aggregate). */
const consumerSchema = z
  .object({
    batchSize: intRange(1, 10000, ' records'),
    maxBatchingWindowSeconds: intRange(0, 300, ' seconds'),
    startingPosition: z.enum(['TRIM_HORIZON', 'LATEST']),
    /** At most 10: with an on-failure destination Lambda caps retries at 10. */
    retryAttempts: intRange(0, 10, ' (a Kafka on-failure destination caps retries at 10)'),
    /**
     * Lambda discards records older than this (to the on-failure destination) even when nothing
     * failed: -1 (never) is the default, because a backlog or a compacted topic read from the start
     * is older than any age; the outage bound is enforced by the retries instead.
     */
    maxRecordAgeSeconds: z
      .number()
      .int('must be -1 (never discard by age) or 60..604800 seconds')
      .refine((v) => v === -1 || (v >= 60 && v <= 604800), {
        message: 'must be -1 (never discard by age) or 60..604800 seconds',
      }),
    minPollers: intRange(1, 200),
    maxPollers: intRange(1, 2000),
    memoryMiB: intRange(128, 10240),
    /**
     * Reserved concurrency: at least the partitions of the consumer's source topics (one invocation
     * per partition at a time), so that it never throttles a partition; omitted: unreserved.
     */
    reservedConcurrency: intRange(1, 1000).optional(),
  })
  .strict();

/** Window sizes: `PT<n>M`, `PT<n>H` or `P1D`, dividing a day evenly. */
const WINDOW_PATTERN = /^(?:PT(\d{1,4})M|PT(\d{1,2})H|P1D)$/;
const DAY_SECONDS = 86_400;

/** The length of a window size in seconds, or undefined when it is not a size that divides a day. */
export function windowSeconds(size: string): number | undefined {
  const m = WINDOW_PATTERN.exec(size);
  if (!m) return undefined;
  const seconds =
    m[1] !== undefined ? Number(m[1]) * 60 : m[2] !== undefined ? Number(m[2]) * 3600 : DAY_SECONDS;
  return seconds > 0 && DAY_SECONDS % seconds === 0 ? seconds : undefined;
}

const WINDOW_MESSAGE = 'must be an ISO-8601 duration PT<n>M, PT<n>H or P1D that divides a day evenly';

const eventsSchema = z
  .object({
    outageBoundMinutes: intRange(1, 60, ' minutes'),
    dedupeHorizonDays: intRange(1, 35, ' days'),
    windows: z
      .array(z.string().refine((w) => windowSeconds(w) !== undefined, { message: WINDOW_MESSAGE }))
      .min(1, 'must list 1..4 distinct window sizes')
      .max(4, 'must list 1..4 distinct window sizes'),
    dimensions: z
      .array(z.enum(['type', 'country']))
      .min(1, 'must list 1..2 distinct dimensions of type, country')
      .max(2, 'must list 1..2 distinct dimensions of type, country'),
    allowedLatenessSeconds: intRange(0, 86400, ' seconds'),
    consumers: z.object({ enrich: consumerSchema, aggregate: consumerSchema }).strict(),
    opensearch: z
      .object({
        dataNodes: intRange(1, 80),
        dataNodeInstanceType: z
          .string()
          .regex(
            /^[a-z0-9]+\.[a-z0-9]+\.search$/,
            'must be an OpenSearch Service instance type such as r7g.large.search',
          ),
        volumeSizeGiB: intRange(10, 16384, ' GiB'),
        dedicatedMasterNodes: z.union([z.literal(0), z.literal(3)], { error: 'must be 0 or 3' }),
        dedicatedMasterInstanceType: z
          .string()
          .regex(
            /^[a-z0-9]+\.[a-z0-9]+\.search$/,
            'must be an OpenSearch Service instance type such as m7g.large.search',
          )
          .optional(),
        multiAzWithStandby: z.boolean(),
        indexRetentionDays: intRange(1, 3650, ' days'),
        logRetentionDays: retentionDays,
      })
      .strict(),
  })
  .strict();

/** An alert subscriber: an e-mail address and the lowest severity it receives. */
const subscriptionSchema = z
  .object({
    email: z.email('must be an e-mail address'),
    minSeverity: z.enum(['info', 'warning', 'critical']),
  })
  .strict();

/**
 * The telemetry path (docs/telemetry-path.md): the sessionization job on Managed Flink, its rules,
 * the S3 lake and the alerting consumer.
 */
const telemetrySchema = z
  .object({
    /** SESSION window gap: a device's session ends this long after its last reading. */
    sessionGapSeconds: intRange(10, 86400, ' seconds'),
    /** Watermark = the largest `ts` seen minus this: readings older than the watermark are late. */
    maxOutOfOrdernessSeconds: intRange(0, 3600, ' seconds'),
    /**
     * A reading whose `ts` is more than this ahead of its Kafka record's timestamp (when the bridge
     * wrote it) is refused (dead-lettered): a device clock far in the future would otherwise move the
     * watermark for every device and make all their readings late.
     */
    maxFutureSkewSeconds: intRange(1, 86400, ' seconds'),
    /** A Kafka partition with no record for this long stops holding the watermark back. */
    idleTimeoutSeconds: intRange(1, 3600, ' seconds'),
    /** How long a reading's (deviceId, ts) is remembered to drop its duplicates (state TTL). */
    dedupeStateMinutes: intRange(1, 10080, ' minutes'),
    alerts: z
      .object({
        /** `temperature_high` (critical): a reading with temperature above this. */
        temperatureHighC: z.number().min(-50, 'must be -50..150 °C').max(150, 'must be -50..150 °C'),
        /** `battery_low` (warning): a reading with battery below this. */
        batteryLowPercent: z.number().min(0, 'must be 0..100 %').max(100, 'must be 0..100 %'),
        /** `session_errors` (warning): a closed session with at least this many error readings. */
        sessionErrorReadings: intRange(1, 100000, ' readings'),
        /** `device_silent` (warning): no reading from a device for this long in event time. */
        silenceSeconds: intRange(60, 604800, ' seconds'),
      })
      .strict(),
    flink: z
      .object({
        parallelism: intRange(1, 1000),
        parallelismPerKpu: intRange(1, 8),
        autoScaling: z.boolean(),
        checkpointIntervalSeconds: intRange(10, 3600, ' seconds'),
        minPauseBetweenCheckpointsSeconds: intRange(0, 3600, ' seconds'),
        logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']),
        metricsLevel: z.enum(['APPLICATION', 'OPERATOR', 'PARALLELISM', 'TASK']),
        logRetentionDays: retentionDays,
        /**
         * How the application restores state when it is restarted by an update or started by the
         * start resource: `latest` (the latest snapshot, unmapped state fails the restore),
         * `latest-allow-non-restored` (the latest snapshot, unmapped state dropped), `skip` (no
         * snapshot: a fresh start). A one-deploy override (docs/telemetry-path.md, "Deploy, update, delete").
         */
        restore: z.enum(['latest', 'latest-allow-non-restored', 'skip']),
      })
      .strict(),
    lake: z
      .object({
        /** Current objects move to S3 Standard-IA after this many days. */
        infrequentAccessAfterDays: intRange(30, 3650, ' days'),
        /** Current objects move to Glacier Instant Retrieval after this many days. */
        glacierAfterDays: intRange(90, 3650, ' days'),
        /** Current objects expire after this many days; omitted: never. */
        expireAfterDays: intRange(1, 36500, ' days').optional(),
        /** Overwritten or deleted versions are kept this long. */
        noncurrentVersionsExpireAfterDays: intRange(1, 3650, ' days'),
        /** Server access logs of the lake bucket are kept this long. */
        accessLogsExpireAfterDays: intRange(1, 3650, ' days'),
      })
      .strict(),
    alerting: z
      .object({
        /** How long the alerting consumer may wait out an SNS or DynamoDB outage before it dead-letters. */
        outageBoundMinutes: intRange(1, 60, ' minutes'),
        /** How long a published alertId is remembered (an alert replayed within it is not sent again). */
        dedupeHorizonDays: intRange(1, 35, ' days'),
        consumer: consumerSchema,
        subscriptions: z.array(subscriptionSchema).max(20, 'must list at most 20 subscriptions'),
      })
      .strict(),
  })
  .strict();

/** Alarm thresholds (lib/monitoring/platform-monitoring.ts); each alarm goes to the ops topic. */
const monitoringSchema = z
  .object({
    /** Broker CPU (user + system) above this for 15 minutes (AWS's guidance is 60). */
    brokerCpuPercent: intRange(1, 99, ' %'),
    /** An event source mapping's offset lag (records behind, its worst topic) for 15 minutes. */
    maxOffsetLagRecords: intRange(1, 100_000_000, ' records'),
    /** A function's p99 duration, as a share of its timeout, for 15 minutes. */
    lambdaDurationPercentOfTimeout: intRange(1, 100, ' %'),
    /** The sessionize job's Kafka source lag (`records_lag_max`) for 15 minutes. */
    flinkRecordsLagMax: intRange(1, 100_000_000, ' records'),
    /** RDS `OldestReplicationSlotLag` (MiB); must stay below cdc.rds.maxSlotWalKeepSizeMiB. */
    replicationSlotLagMiB: intRange(1, 1_048_576, ' MiB'),
    /** RDS `TransactionLogsDiskUsage` (MiB); must stay below cdc.rds.maxSlotWalKeepSizeMiB. */
    transactionLogsDiskMiB: intRange(1, 1_048_576, ' MiB'),
    /** Search domain storage used (100 - free), any node. */
    openSearchDiskUsedPercent: intRange(1, 99, ' %'),
    /** Search domain JVM memory pressure, any data node. */
    openSearchJvmPressurePercent: intRange(1, 99, ' %'),
  })
  .strict();

const environmentSchema = z
  .object({
    account: z
      .string()
      .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
      .optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region such as eu-west-1')
      .optional(),
    removeDataOnDestroy: z.boolean(),
    alarmEmail: z.email('must be an e-mail address').optional(),
    network: z
      .object({
        cidr: z
          .string()
          .regex(/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-4])$/, 'must be an IPv4 CIDR from /16 to /24'),
        maxAzs: z
          .number()
          .int()
          .min(2, 'must be 2 or 3 (MSK needs brokers in 2 or 3 AZs)')
          .max(3, 'must be 2 or 3 (MSK needs brokers in 2 or 3 AZs)'),
        natGateways: z.number().int().min(1, 'must be 1..maxAzs').max(3, 'must be 1..maxAzs'),
        flowLogRetentionDays: retentionDays,
      })
      .strict(),
    msk: z
      .object({
        instanceType: z
          .string()
          .regex(/^kafka\.[a-z0-9]+\.[a-z0-9]+$/, 'must be an MSK broker type such as kafka.m7g.large'),
        brokerCount: z.number().int().min(2, 'must be at least 2').max(30, 'must be at most 30'),
        volumeSizeGiB: z.number().int().min(1, 'must be 1..16384').max(16384, 'must be 1..16384'),
        enhancedMonitoring: z.enum([
          'DEFAULT',
          'PER_BROKER',
          'PER_TOPIC_PER_BROKER',
          'PER_TOPIC_PER_PARTITION',
        ]),
        logRetentionDays: retentionDays,
        defaultReplicationFactor: z.number().int().min(1, 'must be at least 1'),
        minInsyncReplicas: z.number().int().min(1, 'must be at least 1'),
        diskUsedAlarmPercent: z.number().min(1, 'must be 1..99').max(99, 'must be 1..99'),
      })
      .strict(),
    ingest: z
      .object({
        throttleRateLimit: z
          .number()
          .min(1, 'must be 1..10000 requests per second')
          .max(10000, 'must be 1..10000 requests per second'),
        throttleBurstLimit: z.number().int().min(1, 'must be 1..5000').max(5000, 'must be 1..5000'),
        maxBatchSize: z.number().int().min(1, 'must be 1..500 events').max(500, 'must be 1..500 events'),
        memoryMiB: z.number().int().min(128, 'must be 128..10240').max(10240, 'must be 128..10240'),
        /** This environment creates its account+region's API Gateway CloudWatch role (see api-gateway-account.ts). */
        ownsApiGatewayAccount: z.boolean(),
      })
      .strict(),
    cdc: z
      .object({
        database: z
          .object({
            host: z.string().min(1, 'must be a host name'),
            port: z.number().int().min(1, 'must be a TCP port').max(65535, 'must be a TCP port'),
            name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a PostgreSQL database name'),
            /** The replication login's secret (JSON username/password), not the master user's. */
            secretArn: z
              .string()
              .regex(
                /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/,
                'must be a Secrets Manager secret ARN',
              ),
            /** The customer-managed KMS key of that secret, when it has one (decrypt is granted). */
            secretKeyArn: z
              .string()
              .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/, 'must be a KMS key ARN')
              .optional(),
          })
          .strict()
          .optional(),
        tables: z
          .array(z.string().regex(/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/, 'must be schema.table'))
          .min(1, 'must list at least one table'),
        slotName: z.string().regex(/^[a-z0-9_]{1,63}$/, 'must be a replication slot name (a-z, 0-9, _)'),
        publicationName: z.string().regex(/^[a-z0-9_]{1,63}$/, 'must be a publication name (a-z, 0-9, _)'),
        snapshotMode: z.enum(['initial', 'no_data', 'when_needed', 'initial_only']),
        heartbeatIntervalMs: z
          .number()
          .int()
          .min(1000, 'must be 1000..600000 ms')
          .max(600000, 'must be 1000..600000 ms'),
        rds: z
          .object({
            instanceType: z
              .string()
              .regex(/^[a-z0-9]+\.[a-z0-9]+$/, 'must be an instance type such as t4g.medium'),
            multiAz: z.boolean(),
            allocatedStorageGiB: z
              .number()
              .int()
              .min(20, 'must be 20..65536')
              .max(65536, 'must be 20..65536'),
            backupRetentionDays: z.number().int().min(1, 'must be 1..35').max(35, 'must be 1..35'),
            /**
             * `max_slot_wal_keep_size` of the database's parameter group: the most WAL a replication
             * slot may hold back before PostgreSQL invalidates it (the connector then needs a new
             * snapshot), so a stalled connector cannot fill the disk.
             */
            maxSlotWalKeepSizeMiB: intRange(1024, 1_048_576, ' MiB'),
          })
          .strict(),
      })
      .strict(),
    iot: z
      .object({
        topicFilter: z
          .string()
          .regex(/^[^#+]*(\+[^#+]*)*$/, 'must be an MQTT topic filter such as devices/+/telemetry (no #)'),
        errorRetentionDays: z.number().int().min(1, 'must be 1..3650').max(3650, 'must be 1..3650'),
      })
      .strict(),
    events: eventsSchema,
    telemetry: telemetrySchema,
    warehouse: warehouseSchema.extend({ logRetentionDays: retentionDays }),
    monitoring: monitoringSchema,
    topicDefaults: z.unknown(),
    topics: z.unknown().optional(),
  })
  .strict();

type EnvironmentShape = z.infer<typeof environmentSchema>;

/** One environment's configuration, validated and typed. */
export interface EnvironmentConfig {
  /** `dev`, `staging`, `prod`, or any other key of `environments`. */
  readonly envName: string;
  /** Prefix of resource names, SSM parameters (`/<platformName>/<env>/...`) and exports. */
  readonly platformName: string;
  readonly account?: string;
  readonly region?: string;
  /** When true, stateful resources other than topics are destroyed with the stack (dev only). */
  readonly removeDataOnDestroy: boolean;
  readonly alarmEmail?: string;
  readonly network: Readonly<EnvironmentShape['network']>;
  readonly msk: Readonly<EnvironmentShape['msk']>;
  /** The app-event ingest endpoint: throttling, batch size, function memory. */
  readonly ingest: Readonly<EnvironmentShape['ingest']>;
  /** CDC from PostgreSQL: the source database (created when absent), tables, slot, snapshot mode. */
  readonly cdc: Readonly<EnvironmentShape['cdc']>;
  /** The MQTT bridge: device topic filter and how long rejected messages are kept. */
  readonly iot: Readonly<EnvironmentShape['iot']>;
  /** The events path: outage bound, dedupe horizon, windows, consumers, the search domain. */
  readonly events: Readonly<EventsConfig>;
  /** The telemetry path: sessionization rules, the Flink application, the lake, alerting. */
  readonly telemetry: Readonly<TelemetryConfig>;
  /** The warehouse: the Snowflake sink connector (created only when `snowflake` is configured). */
  readonly warehouse: Readonly<WarehouseConfig>;
  /** Alarm thresholds of the monitoring stack. */
  readonly monitoring: Readonly<EnvironmentShape['monitoring']>;
  /** Every catalog topic with its resolved settings. */
  readonly topics: Readonly<Record<TopicId, ResolvedTopic>>;
}

export type EventsConfig = z.infer<typeof eventsSchema>;
export type ConsumerConfig = z.infer<typeof consumerSchema>;
export type TelemetryConfig = z.infer<typeof telemetrySchema>;
export type AlertSubscription = z.infer<typeof subscriptionSchema>;
/** Alert severities, lowest first. */
export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
/** The MSK consumers of the events path. */
export type EventsConsumer = keyof EventsConfig['consumers'];
export const EVENTS_CONSUMERS: readonly EventsConsumer[] = ['enrich', 'aggregate'];

/** Every Lambda MSK consumer: the events path's and the telemetry path's alerting. */
export type MskConsumerName = EventsConsumer | 'alerting';
export const MSK_CONSUMERS: readonly MskConsumerName[] = [...EVENTS_CONSUMERS, 'alerting'];

/** The catalog topics each consumer reads (its event source mappings). */
export const CONSUMER_SOURCES: Readonly<Record<MskConsumerName, readonly TopicId[]>> = {
  enrich: ['eventsUser', 'cdcOrders'],
  aggregate: ['eventsEnriched'],
  alerting: ['telemetryAlerts'],
};

/** A consumer's settings and the outage bound its retries cover, with the config key they sit under. */
export function consumerSettings(
  config: Pick<EnvironmentConfig, 'events' | 'telemetry'>,
  consumer: MskConsumerName,
): { settings: ConsumerConfig; outageBoundMinutes: number; key: string } {
  if (consumer === 'alerting')
    return {
      settings: config.telemetry.alerting.consumer,
      outageBoundMinutes: config.telemetry.alerting.outageBoundMinutes,
      key: 'telemetry.alerting.consumer',
    };
  return {
    settings: config.events.consumers[consumer],
    outageBoundMinutes: config.events.outageBoundMinutes,
    key: `events.consumers.${consumer}`,
  };
}

/** Seconds an invocation may take beyond its retry budget to process its batch. */
export const PROCESSING_HEADROOM_SECONDS = 60;
/** Lambda's longest function timeout. */
export const MAX_FUNCTION_TIMEOUT_SECONDS = 900;

/** A consumer's timing, derived from the outage bound and its retries. */
export interface ConsumerTiming {
  /** How long one invocation backs off before it fails the batch: ceil(bound / (retryAttempts + 1)). */
  readonly retryBudgetSeconds: number;
  /** The function timeout: the retry budget plus {@link PROCESSING_HEADROOM_SECONDS}. */
  readonly timeoutSeconds: number;
  /** How long an unapplied dedupe claim holds before another position may take it over: the timeout. */
  readonly claimLeaseSeconds: number;
}

/**
 * The derived timing of a consumer: the event source mapping retries a failed batch
 * `retryAttempts` times, so each invocation waits its share of the outage bound.
 */
export function consumerTiming(
  events: Pick<EventsConfig, 'outageBoundMinutes'>,
  consumer: Pick<ConsumerConfig, 'retryAttempts'>,
): ConsumerTiming {
  const retryBudgetSeconds = Math.ceil((events.outageBoundMinutes * 60) / (consumer.retryAttempts + 1));
  const timeoutSeconds = retryBudgetSeconds + PROCESSING_HEADROOM_SECONDS;
  return { retryBudgetSeconds, timeoutSeconds, claimLeaseSeconds: timeoutSeconds };
}

/**
 * Reads and validates the configuration for the environments selected by `env`.
 * Throws a ConfigError listing every problem, each naming its context key.
 */
export function loadEnvironments(context: Readonly<Record<string, unknown>>): EnvironmentConfig[] {
  const issues = new IssueCollector();
  const environments = context.environments;
  if (typeof environments !== 'object' || environments === null || Array.isArray(environments)) {
    issues.add('environments', 'must be an object of environments (see cdk.json)');
    issues.throwIfAny();
    return [];
  }
  const known = Object.keys(environments);
  const requested = context.env ?? DEFAULT_ENVIRONMENT;
  let selected: string[] = [];
  if (requested === ALL_ENVIRONMENTS) selected = known;
  else if (typeof requested === 'string' && known.includes(requested)) selected = [requested];
  else
    issues.add(
      'env',
      `unknown environment ${JSON.stringify(requested)}; allowed: ${[...known, ALL_ENVIRONMENTS].join(', ')}`,
    );

  const platformName = context.platformName ?? 'streaming';
  if (typeof platformName !== 'string' || !/^[a-z][a-z0-9-]{1,20}$/.test(platformName)) {
    issues.add('platformName', 'must be 2-21 characters of a-z, 0-9 and -, starting with a letter');
  }
  checkContextKeys(context, issues, suggestTopicOverride);

  // With several environments, every problem found in one names it (identical ones are merged).
  issues.showEnvironments = selected.length > 1;

  const configs: EnvironmentConfig[] = [];
  for (const envName of selected) {
    issues.setEnvironment(envName);
    if (!/^[a-z][a-z0-9]{1,9}$/.test(envName)) {
      issues.add(`environments.${envName}`, 'environment names must be 2-10 characters of a-z and 0-9');
      continue;
    }
    const raw = (environments as Record<string, unknown>)[envName];
    const parsed = environmentSchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        issues.add(['environments', envName, ...issue.path.map(String)].join('.'), issue.message);
      }
      continue;
    }
    const env = parsed.data;
    const key = `environments.${envName}`;
    if (env.msk.brokerCount % env.network.maxAzs !== 0) {
      issues.add(
        `${key}.msk.brokerCount`,
        `must be a multiple of network.maxAzs ${env.network.maxAzs} (got ${env.msk.brokerCount})`,
      );
    }
    if (env.network.natGateways > env.network.maxAzs) {
      issues.add(
        `${key}.network.natGateways`,
        `must be 1..maxAzs ${env.network.maxAzs} (got ${env.network.natGateways})`,
      );
    }
    if (env.msk.defaultReplicationFactor > env.msk.brokerCount) {
      issues.add(
        `${key}.msk.defaultReplicationFactor`,
        `must be 1..brokerCount ${env.msk.brokerCount} (got ${env.msk.defaultReplicationFactor})`,
      );
    }
    if (env.msk.minInsyncReplicas > env.msk.defaultReplicationFactor) {
      issues.add(
        `${key}.msk.minInsyncReplicas`,
        `must be 1..defaultReplicationFactor ${env.msk.defaultReplicationFactor} (got ${env.msk.minInsyncReplicas})`,
      );
    }
    checkEvents(key, env, issues);
    checkTelemetry(key, env, issues);
    checkMonitoring(key, env, issues);
    const topics = resolveTopics({
      envName,
      topicDefaults: env.topicDefaults,
      topics: env.topics,
      context,
      brokerCount: env.msk.brokerCount,
      issues,
    });
    checkWarehouse(key, env.warehouse, topics.eventsAggregates?.settings.partitions, issues);
    if (TOPIC_IDS.some((id) => topics[id] === undefined)) continue;
    for (const consumer of MSK_CONSUMERS) {
      const { settings, key: at } = consumerSettings(env, consumer);
      const age = settings.maxRecordAgeSeconds;
      const compacted = CONSUMER_SOURCES[consumer].filter((id) =>
        topics[id]!.settings.cleanupPolicy.includes('compact'),
      );
      if (age !== -1 && compacted.length > 0) {
        issues.add(
          `${key}.${at}.maxRecordAgeSeconds`,
          `must be -1 (never discard by age): ${consumer} reads the compacted ${compacted.map((id) => topics[id]!.name).join(', ')}, whose records are older than any age (got ${age})`,
        );
      }
      const reserved = settings.reservedConcurrency;
      const partitions = CONSUMER_SOURCES[consumer].reduce((n, id) => n + topics[id]!.settings.partitions, 0);
      if (reserved !== undefined && reserved < partitions) {
        issues.add(
          `${key}.${at}.reservedConcurrency`,
          `must be at least the partitions of ${CONSUMER_SOURCES[consumer].map((id) => topics[id]!.name).join(' + ')} = ${partitions} (one invocation per partition at a time; got ${reserved})`,
        );
      }
    }
    configs.push({
      envName,
      platformName: platformName as string,
      account: env.account,
      region: env.region,
      removeDataOnDestroy: env.removeDataOnDestroy,
      alarmEmail: env.alarmEmail,
      network: env.network,
      msk: env.msk,
      ingest: env.ingest,
      cdc: env.cdc,
      iot: env.iot,
      events: env.events,
      telemetry: env.telemetry,
      warehouse: env.warehouse,
      monitoring: env.monitoring,
      topics: topics as Record<TopicId, ResolvedTopic>,
    });
  }
  issues.setEnvironment(undefined);
  checkApiGatewayAccountOwners(environments, issues);
  issues.throwIfAny();
  return configs;
}

/** Cross-field checks of `environments.<env>.monitoring` and the WAL a replication slot may keep. */
function checkMonitoring(key: string, env: EnvironmentShape, issues: IssueCollector): void {
  const keep = env.cdc.rds.maxSlotWalKeepSizeMiB;
  // Half the disk at most: the WAL a stalled slot keeps must not starve the tables.
  const half = Math.floor((env.cdc.rds.allocatedStorageGiB * 1024) / 2);
  if (keep > half) {
    issues.add(
      `${key}.cdc.rds.maxSlotWalKeepSizeMiB`,
      `must be 1024..${half} MiB (half of allocatedStorageGiB ${env.cdc.rds.allocatedStorageGiB}; got ${keep})`,
    );
  }
  // The alarms must fire before PostgreSQL invalidates the slot.
  for (const threshold of ['replicationSlotLagMiB', 'transactionLogsDiskMiB'] as const) {
    const value = env.monitoring[threshold];
    if (value >= keep) {
      issues.add(
        `${key}.monitoring.${threshold}`,
        `must be 1..${keep - 1} MiB (below cdc.rds.maxSlotWalKeepSizeMiB ${keep}, so the alarm fires before the slot is invalidated; got ${value})`,
      );
    }
  }
}

/** Cross-field checks of `environments.<env>.events`. */
function checkEvents(key: string, env: EnvironmentShape, issues: IssueCollector): void {
  const { events } = env;
  const seconds = events.windows.map((w) => windowSeconds(w));
  if (new Set(seconds).size !== seconds.length) {
    issues.add(
      `${key}.events.windows`,
      `must list 1..4 distinct window sizes (got ${events.windows.join(', ')})`,
    );
  }
  if (new Set(events.dimensions).size !== events.dimensions.length) {
    issues.add(
      `${key}.events.dimensions`,
      `must list 1..2 distinct dimensions of type, country (got ${events.dimensions.join(', ')})`,
    );
  }
  for (const consumer of EVENTS_CONSUMERS) checkConsumer(key, env, consumer, issues);
  const os = events.opensearch;
  const at = `${key}.events.opensearch`;
  if (os.dedicatedMasterNodes === 3 && os.dedicatedMasterInstanceType === undefined) {
    issues.add(`${at}.dedicatedMasterInstanceType`, 'must be set when dedicatedMasterNodes is 3');
  }
  if (os.dedicatedMasterNodes === 0 && os.dedicatedMasterInstanceType !== undefined) {
    issues.add(`${at}.dedicatedMasterInstanceType`, 'must be omitted when dedicatedMasterNodes is 0');
  }
  // Zone awareness spreads more than one data node over the VPC's AZs, evenly (with standby: always).
  if ((os.dataNodes > 1 || os.multiAzWithStandby) && os.dataNodes % env.network.maxAzs !== 0) {
    issues.add(
      `${at}.dataNodes`,
      `must be ${os.multiAzWithStandby ? '' : '1 or '}a multiple of network.maxAzs ${env.network.maxAzs} (got ${os.dataNodes})`,
    );
  }
  // OpenSearch Service: Multi-AZ with Standby runs in 3 AZs with 3 dedicated master nodes, data nodes
  // spread evenly over them, and no T2/T3 instance types.
  if (os.multiAzWithStandby) {
    if (env.network.maxAzs !== 3) {
      issues.add(`${at}.multiAzWithStandby`, `needs network.maxAzs 3 (got ${env.network.maxAzs})`);
    }
    if (os.dedicatedMasterNodes !== 3) {
      issues.add(`${at}.multiAzWithStandby`, 'needs dedicatedMasterNodes 3 (got 0)');
    }
    for (const [field, type] of [
      ['dataNodeInstanceType', os.dataNodeInstanceType],
      ['dedicatedMasterInstanceType', os.dedicatedMasterInstanceType],
    ] as const) {
      if (type !== undefined && /^t[23]\./.test(type)) {
        issues.add(`${at}.${field}`, `must not be a T2/T3 type with multiAzWithStandby (got ${type})`);
      }
    }
  }
}

/** Checks of one MSK consumer's settings against the outage bound its retries cover. */
function checkConsumer(
  key: string,
  env: EnvironmentShape,
  consumer: MskConsumerName,
  issues: IssueCollector,
): void {
  const { settings: c, outageBoundMinutes, key: sub } = consumerSettings(env, consumer);
  const at = `${key}.${sub}`;
  const boundKey =
    consumer === 'alerting' ? 'telemetry.alerting.outageBoundMinutes' : 'events.outageBoundMinutes';
  const boundSeconds = outageBoundMinutes * 60;
  if (c.maxPollers < c.minPollers) {
    issues.add(`${at}.maxPollers`, `must be minPollers ${c.minPollers}..2000 (got ${c.maxPollers})`);
  }
  if (c.maxRecordAgeSeconds !== -1 && c.maxRecordAgeSeconds < 2 * boundSeconds) {
    issues.add(
      `${at}.maxRecordAgeSeconds`,
      `must be at least 2 x ${boundKey} = ${2 * boundSeconds} seconds (got ${c.maxRecordAgeSeconds})`,
    );
  }
  const timing = consumerTiming({ outageBoundMinutes }, c);
  if (timing.timeoutSeconds > MAX_FUNCTION_TIMEOUT_SECONDS) {
    issues.add(
      `${at}.retryAttempts`,
      `the function timeout, retry budget ceil(${boundKey} ${outageBoundMinutes} x 60 / (retryAttempts ${c.retryAttempts} + 1)) = ${timing.retryBudgetSeconds} s + ${PROCESSING_HEADROOM_SECONDS} s headroom = ${timing.timeoutSeconds} s, exceeds Lambda's ${MAX_FUNCTION_TIMEOUT_SECONDS} s: raise retryAttempts or lower ${boundKey}`,
    );
  }
}

/** Cross-field checks of `environments.<env>.telemetry`. */
function checkTelemetry(key: string, env: EnvironmentShape, issues: IssueCollector): void {
  const t = env.telemetry;
  const at = `${key}.telemetry`;
  if (t.alerts.silenceSeconds <= t.sessionGapSeconds) {
    issues.add(
      `${at}.alerts.silenceSeconds`,
      `must be more than sessionGapSeconds ${t.sessionGapSeconds} (a device silent for less is between two readings of one session; got ${t.alerts.silenceSeconds})`,
    );
  }
  // A duplicate must still find its original: remember (deviceId, ts) at least as long as a reading
  // can be on time (the out-of-orderness) plus a session gap.
  const minDedupe = Math.ceil((t.maxOutOfOrdernessSeconds + t.sessionGapSeconds) / 60);
  if (t.dedupeStateMinutes < minDedupe) {
    issues.add(
      `${at}.dedupeStateMinutes`,
      `must be at least ceil((maxOutOfOrdernessSeconds ${t.maxOutOfOrdernessSeconds} + sessionGapSeconds ${t.sessionGapSeconds}) / 60) = ${minDedupe}..10080 minutes (got ${t.dedupeStateMinutes})`,
    );
  }
  if (t.flink.minPauseBetweenCheckpointsSeconds > t.flink.checkpointIntervalSeconds) {
    issues.add(
      `${at}.flink.minPauseBetweenCheckpointsSeconds`,
      `must be 0..checkpointIntervalSeconds ${t.flink.checkpointIntervalSeconds} (got ${t.flink.minPauseBetweenCheckpointsSeconds})`,
    );
  }
  if (t.lake.glacierAfterDays <= t.lake.infrequentAccessAfterDays) {
    issues.add(
      `${at}.lake.glacierAfterDays`,
      `must be more than infrequentAccessAfterDays ${t.lake.infrequentAccessAfterDays} (got ${t.lake.glacierAfterDays})`,
    );
  }
  if (t.lake.expireAfterDays !== undefined && t.lake.expireAfterDays <= t.lake.glacierAfterDays + 90) {
    issues.add(
      `${at}.lake.expireAfterDays`,
      `must be more than glacierAfterDays ${t.lake.glacierAfterDays} + 90 (Glacier Instant Retrieval bills 90 days at least), or omitted to keep sessions (got ${t.lake.expireAfterDays})`,
    );
  }
  const emails = t.alerting.subscriptions.map((s) => s.email.toLowerCase());
  if (new Set(emails).size !== emails.length) {
    issues.add(`${at}.alerting.subscriptions`, 'must list each e-mail address once');
  }
  checkConsumer(key, env, 'alerting', issues);
}
