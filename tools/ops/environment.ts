/**
 * The environment an ops command works on, resolved exactly as the CDK app resolves it
 * (bin/platform.ts): the context of cdk.json with the `-c` pairs on top, through
 * `loadEnvironments` (lib/config/platform-config.ts), which also resolves every catalog topic's
 * settings (lib/topics/topic-settings.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadEnvironments, type EnvironmentConfig } from '../../lib/config/platform-config';

export const CDK_JSON = join(__dirname, '..', '..', 'cdk.json');

/** The `context` object of cdk.json. */
export function cdkJsonContext(path: string = CDK_JSON): Record<string, unknown> {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { context?: Record<string, unknown> };
  return parsed.context ?? {};
}

/**
 * The validated configuration of the one environment `-c env=NAME` names. Throws the app's own
 * ConfigError (every problem named by its key) on a bad context.
 */
export function loadOpsEnvironment(
  overrides: Readonly<Record<string, string>>,
  baseContext: Readonly<Record<string, unknown>> = cdkJsonContext(),
): EnvironmentConfig {
  const configs = loadEnvironments({ ...baseContext, ...overrides });
  if (configs.length !== 1) throw new Error(`-c env must name one environment (got ${configs.length})`);
  return configs[0]!;
}

/**
 * Names the CDK app gives the environment's resources (lib/kafka/msk-cluster.ts names the cluster
 * `<platform>-<env>`; the connectors (lib/cdc/orders-cdc.ts, lib/warehouse/snowflake-config.ts) and
 * the Managed Flink application (lib/telemetry/sessionize-application.ts) all start with
 * `<platform>-<env>-`).
 */
export function resourceNames(config: Pick<EnvironmentConfig, 'platformName' | 'envName'>): {
  readonly clusterName: string;
  readonly resourcePrefix: string;
} {
  const clusterName = `${config.platformName}-${config.envName}`;
  return { clusterName, resourcePrefix: `${clusterName}-` };
}
