/**
 * dynalite (npm), the local DynamoDB-compatible server, in-process on a free port of 127.0.0.1, with
 * the consumers' state tables keyed as lambda/shared/consumer/state-table.ts says. dynalite has no
 * TimeToLive API (and no transactions): expired items stay until deleted, which the consumers
 * already allow for (an item whose `expiresAt` has passed counts as absent, as DynamoDB's lazy TTL
 * deletion requires anyway).
 */
import { CreateTableCommand, DynamoDBClient, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Server } from 'node:http';
import { ORDERS_BY_USER_INDEX, STATE_TABLE } from '../../../lambda/shared/consumer/state-table';
import { freePort } from './ports';

// dynalite ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

export interface StateTableSpec {
  readonly name: string;
  /** Adds the enrich table's `byUser` index. @default false */
  readonly ordersByUser?: boolean;
}

/** The CreateTable request of a state table (on-demand, `pk`/`sk`, optionally the `byUser` index). */
export function stateTableRequest(spec: StateTableSpec): CreateTableCommandInput {
  const attributes = [
    { AttributeName: STATE_TABLE.partitionKey, AttributeType: 'S' as const },
    { AttributeName: STATE_TABLE.sortKey, AttributeType: 'S' as const },
    ...(spec.ordersByUser
      ? [{ AttributeName: ORDERS_BY_USER_INDEX.partitionKey, AttributeType: 'S' as const }]
      : []),
  ];
  return {
    TableName: spec.name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributes,
    KeySchema: [
      { AttributeName: STATE_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: STATE_TABLE.sortKey, KeyType: 'RANGE' },
    ],
    ...(spec.ordersByUser
      ? {
          GlobalSecondaryIndexes: [
            {
              IndexName: ORDERS_BY_USER_INDEX.name,
              KeySchema: [
                { AttributeName: ORDERS_BY_USER_INDEX.partitionKey, KeyType: 'HASH' },
                { AttributeName: ORDERS_BY_USER_INDEX.sortKey, KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'ALL' },
            },
          ],
        }
      : {}),
  };
}

export class LocalDynamo {
  /** `http://127.0.0.1:<port>`: what `DYNAMODB_ENDPOINT` is set to for the consumers. */
  public readonly endpoint: string;
  public readonly client: DynamoDBClient;
  public readonly documentClient: DynamoDBDocumentClient;

  private constructor(
    private readonly server: Server,
    port: number,
  ) {
    this.endpoint = `http://127.0.0.1:${port}`;
    this.client = new DynamoDBClient({
      endpoint: this.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    this.documentClient = DynamoDBDocumentClient.from(this.client);
  }

  /** Starts dynalite (in memory, tables active at once) and creates the tables. */
  static async start(tables: readonly StateTableSpec[] = []): Promise<LocalDynamo> {
    const port = await freePort();
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const local = new LocalDynamo(server, port);
    for (const table of tables) await local.createTable(table);
    return local;
  }

  async createTable(spec: StateTableSpec): Promise<void> {
    await this.client.send(new CreateTableCommand(stateTableRequest(spec)));
  }

  async stop(): Promise<void> {
    this.client.destroy();
    await new Promise<void>((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
  }
}
