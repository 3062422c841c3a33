/**
 * A transport to one OpenSearch endpoint built on the client's Transport layer (connection pool,
 * serializer, SigV4 signing) rather than its `Client`, whose API surface would add about 250 kB to
 * a function's bundle. Used by the aggregate sink and the search set-up custom resource.
 */
import Connection from '@opensearch-project/opensearch/lib/Connection.js';
import Serializer from '@opensearch-project/opensearch/lib/Serializer.js';
import Transport from '@opensearch-project/opensearch/lib/Transport.js';
import { ConnectionPool } from '@opensearch-project/opensearch/lib/pool/index.js';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { EventEmitter } from 'node:events';
import { credentialsFromEnvironment } from '../msk-iam-token';

/** The part of the client's `Transport.request` the functions use. */
export interface OpenSearchTransport {
  request(
    params: {
      method: string;
      path: string;
      body?: unknown;
      bulkBody?: unknown[];
      querystring?: Record<string, unknown>;
    },
    options?: { ignore?: number[] },
  ): Promise<{ statusCode: number | null; body: unknown }>;
}

export type SearchAuth = 'iam' | 'none';

export interface SearchTransportOptions {
  /** `https://<domain endpoint>` (or `http://127.0.0.1:<port>` locally). */
  readonly endpoint: string;
  readonly auth: SearchAuth;
  /** Needed for IAM: the domain's region. */
  readonly region?: string;
  /** @default 10 seconds */
  readonly requestTimeoutMs?: number;
  /** Retries of a connection failure or a 502/503/504. @default 0 */
  readonly maxRetries?: number;
}

/** Reads `OPENSEARCH_AUTH`, accepting only the known modes. */
export function searchAuthFrom(value: string | undefined): SearchAuth {
  if (value === 'iam' || value === 'none') return value;
  throw new Error(`OPENSEARCH_AUTH must be iam or none (got ${JSON.stringify(value)})`);
}

/**
 * A transport to one OpenSearch endpoint, SigV4-signed (service `es`) with the function's own
 * credentials (from its environment) when `auth` is `iam`.
 */
export function createSearchTransport(options: SearchTransportOptions): OpenSearchTransport {
  let ConnectionClass: typeof Connection = Connection;
  let TransportClass: typeof Transport = Transport;
  if (options.auth === 'iam') {
    if (!options.region) throw new Error('IAM authentication to OpenSearch needs a region');
    const signer = AwsSigv4Signer({
      region: options.region,
      service: 'es',
      getCredentials: () => Promise.resolve(credentialsFromEnvironment()),
    });
    ConnectionClass = signer.Connection;
    TransportClass = signer.Transport;
  }
  const emitter = new EventEmitter();
  const emit = emitter.emit.bind(emitter);
  const pool = new ConnectionPool({ Connection: ConnectionClass, emit, resurrectStrategy: 'none' });
  pool.addConnection(options.endpoint);
  const transport = new TransportClass({
    emit,
    connectionPool: pool,
    serializer: new Serializer(),
    maxRetries: options.maxRetries ?? 0,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    sniffEndpoint: '_nodes/_all/http',
  });
  return transport as unknown as OpenSearchTransport;
}
