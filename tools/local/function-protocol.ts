/**
 * What the local run and a function's worker thread say to each other (tools/local/functions.ts and
 * tools/local/function-worker.ts). Plain data only: it crosses threads by structured clone.
 */
import type { PollerCounters } from '../../test/engines/harness/event-source-poller';

/** The handlers of lambda/ that run locally, each in its own worker (its own "container"). */
export type FunctionName = 'ingest' | 'enrich' | 'aggregate' | 'alerting';

/** One event source mapping of a consumer function, as the CDK configures it. */
export interface MappingSpec {
  readonly topic: string;
  readonly groupId: string;
  readonly batchSize: number;
  readonly maximumBatchingWindowMs: number;
  readonly retryAttempts: number;
  readonly onFailureTopic: string;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
}

export interface FunctionWorkerData {
  readonly name: FunctionName;
  readonly brokers: string;
  /** Empty for ingest (invoked through API Gateway's event shape instead). */
  readonly mappings: readonly MappingSpec[];
}

export type ToWorker =
  | { readonly type: 'invoke'; readonly id: number; readonly body: string }
  | { readonly type: 'stats'; readonly id: number }
  | { readonly type: 'stop'; readonly id: number };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly error: string }
  | { readonly type: 'invoked'; readonly id: number; readonly statusCode: number; readonly body: string }
  | {
      readonly type: 'stats';
      readonly id: number;
      /** Poller counters by source topic. */
      readonly pollers: Readonly<Record<string, PollerCounters>>;
    }
  | { readonly type: 'stopped'; readonly id: number }
  | { readonly type: 'error'; readonly id: number; readonly error: string };
