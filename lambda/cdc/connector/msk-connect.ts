/**
 * The MSK Connect operations the connector custom resource uses (AWS SDK v3
 * `@aws-sdk/client-kafkaconnect`), behind an interface so that the replacement logic is tested
 * against a mock.
 */
import {
  CreateConnectorCommand,
  type CreateConnectorCommandInput,
  DeleteConnectorCommand,
  DescribeConnectorCommand,
  KafkaConnectClient,
  type KafkaConnectClientConfig,
  ListConnectorsCommand,
  NotFoundException,
  UpdateConnectorCommand,
} from '@aws-sdk/client-kafkaconnect';

/** CREATING, RUNNING, UPDATING, DELETING or FAILED. */
export type ConnectorState = string;

export interface ConnectorSummary {
  readonly connectorArn: string;
  readonly connectorName: string;
  readonly connectorState: ConnectorState;
  readonly currentVersion: string;
}

export interface ConnectorDetails extends ConnectorSummary {
  readonly stateDescription?: { readonly code?: string; readonly message?: string };
}

/** The CreateConnector request body (the construct renders it; the handler passes it on as is). */
export interface ConnectorSpec {
  readonly connectorName: string;
  readonly connectorConfiguration: Record<string, string>;
  readonly capacity: unknown;
  readonly [property: string]: unknown;
}

export interface MskConnectApi {
  /** Every connector whose name is exactly `name` (MSK Connect lists by prefix). */
  connectorsNamed(name: string): Promise<ConnectorSummary[]>;
  /** undefined once the connector is gone. */
  describe(arn: string): Promise<ConnectorDetails | undefined>;
  create(spec: ConnectorSpec): Promise<{ connectorArn: string }>;
  updateConfiguration(
    arn: string,
    currentVersion: string,
    configuration: Record<string, string>,
  ): Promise<void>;
  remove(arn: string, currentVersion: string): Promise<void>;
}

/** The real API through the AWS SDK (the function's credentials; `config` for tests: endpoint, credentials). */
export function mskConnectApi(config: KafkaConnectClientConfig = {}): MskConnectApi {
  const client = new KafkaConnectClient(config);
  return {
    async connectorsNamed(name) {
      const found: ConnectorSummary[] = [];
      let nextToken: string | undefined;
      do {
        const page = await client.send(
          new ListConnectorsCommand({ connectorNamePrefix: name, maxResults: 100, nextToken }),
        );
        for (const c of page.connectors ?? [])
          if (c.connectorName === name)
            found.push({
              connectorArn: c.connectorArn!,
              connectorName: c.connectorName,
              connectorState: c.connectorState!,
              currentVersion: c.currentVersion!,
            });
        nextToken = page.nextToken;
      } while (nextToken);
      return found;
    },
    async describe(arn) {
      try {
        const c = await client.send(new DescribeConnectorCommand({ connectorArn: arn }));
        return {
          connectorArn: c.connectorArn!,
          connectorName: c.connectorName!,
          connectorState: c.connectorState!,
          currentVersion: c.currentVersion!,
          ...(c.stateDescription ? { stateDescription: c.stateDescription } : {}),
        };
      } catch (err) {
        if (err instanceof NotFoundException) return undefined;
        throw err;
      }
    },
    async create(spec) {
      const created = await client.send(
        new CreateConnectorCommand(spec as unknown as CreateConnectorCommandInput),
      );
      return { connectorArn: created.connectorArn! };
    },
    async updateConfiguration(arn, currentVersion, configuration) {
      await client.send(
        new UpdateConnectorCommand({
          connectorArn: arn,
          currentVersion,
          connectorConfiguration: configuration,
        }),
      );
    },
    async remove(arn, currentVersion) {
      await client.send(new DeleteConnectorCommand({ connectorArn: arn, currentVersion }));
    },
  };
}
