/**
 * `environments.<env>.warehouse`: the Snowflake sink connector on MSK Connect (docs/warehouse.md).
 * The connector's workers and buffers are set per environment; the Snowflake account is optional:
 * without `snowflake`, no connector (and no plugin) is created and synth says so in a warning.
 *
 * The checks here are the ones the plugin itself makes only when it connects or starts (the
 * account URL's form, the names' forms, the buffer ranges, the ingestion method) or never (workers
 * against tasks and partitions): each error names its key, like the topic overrides.
 */
import { z } from 'zod';
import {
  SNOWFLAKE_INGESTION_METHOD,
  snowflakeAccountProblems,
  snowflakeBufferProblems,
} from '../warehouse/snowflake-config';
import type { IssueSink } from './errors';

const int = z.number().int('must be an integer');

/** MSK Connect's MCU sizes (1 MCU = 1 vCPU and 4 GiB per worker). */
const MCU_COUNTS = [1, 2, 4, 8] as const;

const snowflakeAccountSchema = z
  .object({
    /** `<account identifier>.snowflakecomputing.com` (checked below, with the allowed form in the error). */
    accountUrl: z.string(),
    user: z.string(),
    role: z.string(),
    database: z.string(),
    schema: z.string(),
    /**
     * The Secrets Manager secret holding the key pair as JSON `{"privateKey": "<encrypted PKCS#8
     * PEM>", "passphrase": "..."}` (docs/warehouse.md). Never the key itself.
     */
    privateKeySecretArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/,
        'must be the complete ARN of a Secrets Manager secret (ending in -XXXXXX)',
      ),
    /** The customer-managed KMS key of that secret, when it has one (decrypt is granted). */
    privateKeySecretKeyArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/, 'must be a KMS key ARN')
      .optional(),
    /** Only Snowpipe Streaming is supported (rows within seconds, no stage or pipe to manage). */
    ingestionMethod: z.string(),
  })
  .strict();

export const warehouseSchema = z
  .object({
    connector: z
      .object({
        /** MCUs per worker: 1, 2, 4 or 8. */
        mcuCount: z.number().refine((n) => (MCU_COUNTS as readonly number[]).includes(n), {
          message: `must be one of ${MCU_COUNTS.join(', ')} (MSK Connect's worker sizes)`,
        }),
        minWorkers: int.min(1, 'must be 1..10 workers').max(10, 'must be 1..10 workers'),
        maxWorkers: int.min(1, 'must be 1..10 workers').max(10, 'must be 1..10 workers'),
        /** Scale out when the workers' average CPU is above this. */
        scaleOutCpuPercent: int.min(1, 'must be 1..100 percent').max(100, 'must be 1..100 percent'),
        /** Scale in when it is below this. */
        scaleInCpuPercent: int.min(1, 'must be 1..100 percent').max(100, 'must be 1..100 percent'),
        /** `tasks.max`: at most the partitions of events.aggregates (more would idle). */
        tasksMax: int.min(1, 'must be 1..100 tasks').max(100, 'must be 1..100 tasks'),
      })
      .strict(),
    buffer: z
      .object({
        countRecords: z.number(),
        sizeBytes: z.number(),
        flushTimeSeconds: z.number(),
        maxClientLagSeconds: z.number(),
      })
      .strict(),
    /** The workers' log group retention (CloudWatch Logs periods; checked in platform-config.ts). */
    logRetentionDays: z.number(),
    snowflake: snowflakeAccountSchema.optional(),
  })
  .strict();

export type WarehouseConfig = z.infer<typeof warehouseSchema>;
export type SnowflakeAccountConfig = z.infer<typeof snowflakeAccountSchema>;

/**
 * Cross-field and plugin-range checks of `<key>.warehouse`. `aggregatesPartitions` is the resolved
 * partition count of events.aggregates (topic overrides included).
 */
export function checkWarehouse(
  key: string,
  warehouse: WarehouseConfig,
  aggregatesPartitions: number | undefined,
  issues: IssueSink,
): void {
  const at = `${key}.warehouse`;
  const c = warehouse.connector;
  if (c.minWorkers > c.maxWorkers)
    issues.add(`${at}.connector.minWorkers`, `must be 1..maxWorkers ${c.maxWorkers} (got ${c.minWorkers})`);
  if (c.scaleInCpuPercent >= c.scaleOutCpuPercent)
    issues.add(
      `${at}.connector.scaleInCpuPercent`,
      `must be below scaleOutCpuPercent ${c.scaleOutCpuPercent} (got ${c.scaleInCpuPercent})`,
    );
  if (aggregatesPartitions !== undefined && c.tasksMax > aggregatesPartitions)
    issues.add(
      `${at}.connector.tasksMax`,
      `must be 1..${aggregatesPartitions}, the partitions of events.aggregates: a task reads whole partitions, so more tasks would sit idle (got ${c.tasksMax})`,
    );
  for (const [field, message] of snowflakeBufferProblems(warehouse.buffer))
    issues.add(`${at}.buffer.${field}`, message);
  const s = warehouse.snowflake;
  if (!s) return;
  for (const [field, message] of snowflakeAccountProblems(s)) issues.add(`${at}.snowflake.${field}`, message);
  if (s.ingestionMethod !== SNOWFLAKE_INGESTION_METHOD)
    issues.add(
      `${at}.snowflake.ingestionMethod`,
      `must be ${SNOWFLAKE_INGESTION_METHOD}, the only method the platform runs (got ${JSON.stringify(s.ingestionMethod)})`,
    );
}
