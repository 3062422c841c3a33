/**
 * The OpenSearch side of the aggregate outputs: each window written whole with one bulk request of
 * index operations, `_id = windowKey`, external versioning (`version_type=external`, the window's
 * `version`). A 409 means the index holds that version or a newer one: success. Any other item
 * error, an error status or a connection failure is transient (the caller throws and the batch is
 * retried). The transport is lambda/shared/search/transport.ts.
 */
import type { AggregateRecord } from '../shared/contract/aggregate';

export {
  createSearchTransport,
  searchAuthFrom,
  type SearchAuth,
  type SearchTransportOptions,
} from '../shared/search/transport';

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
