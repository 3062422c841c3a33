import {
  GetSecretValueCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import type { Credentials } from './setup';

/**
 * Secrets Manager GetSecretValue (AWS SDK v3) for a JSON secret with `username` and `password`, as
 * RDS and the replication secret keep them. Never logs the value.
 *
 * @param config client settings for tests (endpoint, region, credentials); the function's own otherwise
 */
export async function readCredentialsSecret(
  secretId: string,
  config: SecretsManagerClientConfig = {},
): Promise<Credentials> {
  const answer = await new SecretsManagerClient(config).send(
    new GetSecretValueCommand({ SecretId: secretId }),
  );
  const value = JSON.parse(answer.SecretString ?? '{}') as Partial<Credentials>;
  if (!value.username || !value.password) throw new Error(`secret ${secretId} lacks username or password`);
  return { username: value.username, password: value.password };
}
