import { Client } from 'pg';
import { readCredentialsSecret } from './secrets';
import { setUpDatabase, type DatabaseSetupEvent } from './setup';

/** Custom resource handler (lib/cdc/database-setup.ts). */
export async function handler(event: DatabaseSetupEvent) {
  const result = await setUpDatabase(event, {
    readSecret: (arn) => readCredentialsSecret(arn),
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
