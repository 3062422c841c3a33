/**
 * The OpenSearch side of the aggregate outputs: each window written whole with one bulk request of
 * index operations, `_id = windowKey`, external versioning (`version_type=external`, the window's
 * `version`). A 409 means the index holds that version or a newer one: success. Any other item
 * error, an error status or a connection failure is transient (the caller throws and the batch is
 * retried).
 *
 * Built on the client's Transport layer (connection pool, serializer, SigV4 signing) rather than its
 * `Client`, whose API surface would add about 250 kB to the function's bundle.
 */
import Connection from '@opensearch-project/opensearch/lib/Connection.js';
import Serializer from '@opensearch-project/opensearch/lib/Serializer.js';
import Transport from '@opensearch-project/opensearch/lib/Transport.js';
import { ConnectionPool } from '@opensearch-project/opensearch/lib/pool/index.js';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { EventEmitter } from 'node:events';
import type { AggregateRecord } from '../shared/contract/aggregate';
import { credentialsFromEnvironment } from '../shared/msk-iam-token';

/** What the sink needs of a transport: the shape of the client's `Transport.request`. */
export interface SearchTransport {
  request(params: {
    method: string;
    path: string;
    body?: unknown;
    bulkBody?: unknown[];
    querystring?: Record<string, unknown>;
  }): PromiseLike<{ statusCode: number | null; body: unknown }>;
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
}

/** Reads `OPENSEARCH_AUTH`, accepting only the known modes. */
export function searchAuthFrom(value: string | undefined): SearchAuth {
  if (value === 'iam' || value === 'none') return value;
  throw new Error(`OPENSEARCH_AUTH must be iam or none (got ${JSON.stringify(value)})`);
}

/**
 * A transport to one OpenSearch endpoint, SigV4-signed (service `es`) with the function's own
 * credentials when `auth` is `iam`. No retries of its own: the consumer runtime retries the batch.
 */
export function createSearchTransport(options: SearchTransportOptions): SearchTransport {
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
    maxRetries: 0,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    sniffEndpoint: '_nodes/_all/http',
  });
  return transport as unknown as SearchTransport;
}

/** A window to index: the document and the index it lives in. */
export interface SearchDocument {
  readonly index: string;
  readonly record: AggregateRecord;
}

interface BulkItemResult {
  readonly status: number;
  readonly error?: { readonly type?: string; readonly reason?: string };
}

/** Indexes the windows whole (one bulk request). Throws on any failure other than a 409. */
export async function indexWindows(
  transport: SearchTransport,
  documents: readonly SearchDocument[],
): Promise<void> {
  if (documents.length === 0) return;
  const bulkBody: unknown[] = [];
  for (const { index, record } of documents) {
    bulkBody.push({
      index: { _index: index, _id: record.windowKey, version: record.version, version_type: 'external' },
    });
    bulkBody.push(record);
  }
  const response = await transport.request({ method: 'POST', path: '/_bulk', bulkBody });
  const body = response.body as { items?: readonly Record<string, BulkItemResult>[] };
  const items = body.items ?? [];
  if (items.length !== documents.length)
    throw new Error(`OpenSearch bulk answered ${items.length} items for ${documents.length} operations`);
  const failed = items
    .map((item, i) => ({ result: item.index, windowKey: documents[i]!.record.windowKey }))
    .filter(({ result }) => !result || (result.status >= 300 && result.status !== 409));
  if (failed.length > 0) {
    const first = failed[0]!;
    throw new Error(
      `OpenSearch refused ${failed.length} of ${documents.length} window documents; first ${first.windowKey}: ` +
        `${first.result?.status} ${first.result?.error?.type ?? ''} ${first.result?.error?.reason ?? ''}`.trim(),
    );
  }
}
