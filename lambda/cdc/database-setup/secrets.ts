import { awsJsonRequest, type AwsCredentials } from '../aws-request';
import type { Credentials } from './setup';

/**
 * Secrets Manager GetSecretValue (JSON 1.1 protocol) for a JSON secret with `username` and
 * `password`, as RDS and the replication secret keep them. Never logs the value.
 */
export async function readCredentialsSecret(
  secretId: string,
  options: { region?: string; endpoint?: string; credentials?: AwsCredentials } = {},
): Promise<Credentials> {
  const answer = await awsJsonRequest<{ SecretString?: string }>({
    service: 'secretsmanager',
    region: options.region ?? process.env.AWS_REGION ?? '',
    endpoint: options.endpoint,
    credentials: options.credentials,
    method: 'POST',
    path: '/',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'secretsmanager.GetSecretValue',
    },
    body: { SecretId: secretId },
  });
  const value = JSON.parse(answer.SecretString ?? '{}') as Partial<Credentials>;
  if (!value.username || !value.password) throw new Error(`secret ${secretId} lacks username or password`);
  return { username: value.username, password: value.password };
}
