/**
 * The MSK Connect operations the connector custom resource uses (REST API `kafkaconnect`,
 * 2021-09-14), behind an interface so that the replacement logic is tested against a mock.
 */
import { AwsApiError, awsJsonRequest } from '../aws-request';

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

/** The real API, signed with the function's credentials. */
export function mskConnectApi(region = process.env.AWS_REGION ?? ''): MskConnectApi {
  const call = <T>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    query?: Record<string, string>,
    body?: unknown,
  ) => awsJsonRequest<T>({ service: 'kafkaconnect', region, method, path, query, body });
  const arnPath = (arn: string) => `/v1/connectors/${encodeURIComponent(arn)}`;
  return {
    async connectorsNamed(name) {
      const found: ConnectorSummary[] = [];
      let nextToken: string | undefined;
      do {
        const page = await call<{ connectors?: ConnectorSummary[]; nextToken?: string }>(
          'GET',
          '/v1/connectors',
          {
            connectorNamePrefix: name,
            maxResults: '100',
            ...(nextToken ? { nextToken } : {}),
          },
        );
        found.push(...(page.connectors ?? []).filter((c) => c.connectorName === name));
        nextToken = page.nextToken;
      } while (nextToken);
      return found;
    },
    async describe(arn) {
      try {
        return await call<ConnectorDetails>('GET', arnPath(arn));
      } catch (err) {
        if (err instanceof AwsApiError && err.status === 404) return undefined;
        throw err;
      }
    },
    async create(spec) {
      return call<{ connectorArn: string }>('POST', '/v1/connectors', undefined, spec);
    },
    async updateConfiguration(arn, currentVersion, configuration) {
      await call('PUT', arnPath(arn), { currentVersion }, { connectorConfiguration: configuration });
    },
    async remove(arn, currentVersion) {
      await call('DELETE', arnPath(arn), { currentVersion });
    },
  };
}
