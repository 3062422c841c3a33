/**
 * dynalite (the harness's LocalDynamo) in a worker thread of its own: the functions' DynamoDB calls
 * are served off the run's main thread, which drives the generators and the progress (the handler
 * bench runs dynalite apart for the same reason).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LocalDynamo, type StateTableSpec } from '../../test/engines/harness/dynalite';

const port = parentPort;
if (!port) throw new Error('dynamo-worker.ts runs in a worker thread only');

LocalDynamo.start(workerData as StateTableSpec[]).then(
  (dynamo) => {
    port.on('message', (message: unknown) => {
      if (message !== 'stop') return;
      void dynamo.stop().finally(() => port.postMessage({ stopped: true }));
    });
    port.postMessage({ endpoint: dynamo.endpoint });
  },
  (err: unknown) => port.postMessage({ error: err instanceof Error ? err.message : String(err) }),
);
