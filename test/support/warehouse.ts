/**
 * A Snowflake account block for tests: cdk.json configures none (the connector is then not
 * created), so tests that need the warehouse stack add this one. The names are made up; the secret
 * ARN names a secret that only exists in tests.
 */
import { cdkJsonContext } from './synth';

export const TEST_SNOWFLAKE_SECRET_NAME = 'streaming/warehouse/snowflake-key';
export const TEST_SNOWFLAKE_SECRET_ARN = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${TEST_SNOWFLAKE_SECRET_NAME}-AbC123`;

export const TEST_SNOWFLAKE_ACCOUNT = {
  accountUrl: 'exampleorg-analytics.snowflakecomputing.com:443',
  user: 'KAFKA_CONNECTOR',
  role: 'KAFKA_CONNECTOR_ROLE',
  database: 'PLATFORM',
  schema: 'STREAMING',
  privateKeySecretArn: TEST_SNOWFLAKE_SECRET_ARN,
  ingestionMethod: 'SNOWPIPE_STREAMING',
} as const;

/**
 * Context overrides (for configFor, buildApp, synthEnvironment) that give environment `envName`
 * the test account, with optional changes to its warehouse block.
 */
export function withSnowflake(
  envName: string,
  account: Record<string, unknown> = TEST_SNOWFLAKE_ACCOUNT,
  warehouse: Record<string, unknown> = {},
): Record<string, unknown> {
  return withAccounts([envName], account, warehouse);
}

/** Context overrides that give every environment the test account (for `env: 'all'` synths). */
export function withSnowflakeEverywhere(): Record<string, unknown> {
  return withAccounts(Object.keys(cdkJsonContext().environments as object), TEST_SNOWFLAKE_ACCOUNT, {});
}

function withAccounts(
  envNames: readonly string[],
  account: Record<string, unknown>,
  warehouse: Record<string, unknown>,
): Record<string, unknown> {
  const environments = structuredClone(cdkJsonContext().environments) as Record<
    string,
    { warehouse: Record<string, unknown> }
  >;
  for (const envName of envNames) {
    const env = environments[envName]!;
    env.warehouse = { ...env.warehouse, ...warehouse, snowflake: account };
  }
  return { environments };
}
