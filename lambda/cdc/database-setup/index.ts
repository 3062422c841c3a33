import { Client } from 'pg';
import { awsJsonRequest } from '../aws-request';
import { setUpDatabase, type Credentials, type DatabaseSetupEvent } from './setup';

async function readSecret(arn: string): Promise<Credentials> {
  const region = process.env.AWS_REGION ?? '';
  const answer = await awsJsonRequest<{ SecretString?: string }>({
    service: 'secretsmanager',
    region,
    method: 'POST',
    path: '/',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'secretsmanager.GetSecretValue',
    },
    body: { SecretId: arn },
  });
  const value = JSON.parse(answer.SecretString ?? '{}') as Partial<Credentials>;
  if (!value.username || !value.password) throw new Error(`secret ${arn} lacks username or password`);
  return { username: value.username, password: value.password };
}

/** Custom resource handler (lib/cdc/database-setup.ts). */
export async function handler(event: DatabaseSetupEvent) {
  const result = await setUpDatabase(event, {
    readSecret,
    connect: async ({ host, port, database, username, password }) => {
      // rds.force_ssl=1: TLS inside the VPC, as the connector's sslmode=require (no CA bundle here).
      const client = new Client({
        host,
        port,
        database,
        user: username,
        password,
        ssl: { rejectUnauthorized: false },
      });
      await client.connect();
      return client;
    },
  });
  console.log(JSON.stringify({ requestType: event.RequestType, ...result }));
  return result;
}
