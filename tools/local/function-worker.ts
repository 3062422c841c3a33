/**
 * One Lambda function of the platform in a worker thread: its own environment (what the CDK sets,
 * with the local endpoints), its own module registry (so `lambda/<name>/index.ts` builds its handler
 * from that environment, unchanged, as in a Lambda container) and its stdout (Powertools' JSON logs
 * and EMF metrics, read by the parent). A consumer runs behind the local event-source poller, one
 * per event source mapping; ingest is invoked with API Gateway's proxy event.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { parentPort, workerData } from 'node:worker_threads';
import { EventSourcePoller } from '../../test/engines/harness/event-source-poller';
import type { MSKEvent } from '../../lambda/shared/consumer/msk-event';
import type { FromWorker, FunctionWorkerData, ToWorker } from './function-protocol';

const data = workerData as FunctionWorkerData;
const port = parentPort;
if (!port) throw new Error('function-worker.ts runs in a worker thread only');

const send = (message: FromWorker): void => port.postMessage(message);
const errorText = (err: unknown): string => (err instanceof Error ? (err.stack ?? err.message) : String(err));

type ConsumerHandler = (event: MSKEvent) => Promise<void>;
type IngestHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

async function consumerHandler(
  name: Exclude<FunctionWorkerData['name'], 'ingest'>,
): Promise<ConsumerHandler> {
  switch (name) {
    case 'enrich':
      return (await import('../../lambda/enrich/index')).handler;
    case 'aggregate':
      return (await import('../../lambda/aggregate/index')).handler;
    case 'alerting':
      return (await import('../../lambda/alerting/index')).handler;
  }
}

/** API Gateway's REST proxy event of `POST /events` with this body (the fields the handler reads). */
function proxyEvent(body: string, requestId: string): APIGatewayProxyEvent {
  return {
    body,
    isBase64Encoded: false,
    httpMethod: 'POST',
    path: '/events',
    resource: '/events',
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: { requestId } as APIGatewayProxyEvent['requestContext'],
  };
}

async function main(): Promise<void> {
  const pollers: EventSourcePoller[] = [];
  let ingest: IngestHandler | undefined;
  let closeIngest: (() => Promise<void>) | undefined;
  if (data.name === 'ingest') {
    const module = await import('../../lambda/ingest/index');
    ingest = module.handler;
    closeIngest = module.closeProducer;
  } else {
    const handler = await consumerHandler(data.name);
    for (const mapping of data.mappings) {
      pollers.push(
        new EventSourcePoller({
          topic: mapping.topic,
          groupId: mapping.groupId,
          handler,
          batchSize: mapping.batchSize,
          maximumBatchingWindowMs: mapping.maximumBatchingWindowMs,
          retryAttempts: mapping.retryAttempts,
          onFailureTopic: mapping.onFailureTopic,
          startingPosition: mapping.startingPosition,
          brokers: data.brokers,
          retryDelayMs: 1_000,
        }),
      );
    }
    await Promise.all(pollers.map((p) => p.start()));
  }

  let requests = 0;
  port!.on('message', (message: ToWorker) => {
    void (async () => {
      try {
        switch (message.type) {
          case 'invoke': {
            if (!ingest) throw new Error(`${data.name} is not invoked through API Gateway`);
            const result = await ingest(proxyEvent(message.body, `local-${++requests}`));
            send({ type: 'invoked', id: message.id, statusCode: result.statusCode, body: result.body });
            break;
          }
          case 'stats': {
            const counters: Record<string, EventSourcePoller['counters']> = {};
            data.mappings.forEach((m, i) => (counters[m.topic] = { ...pollers[i]!.counters }));
            send({ type: 'stats', id: message.id, pollers: counters });
            break;
          }
          case 'stop': {
            await Promise.all(pollers.map((p) => p.stop()));
            await closeIngest?.();
            send({ type: 'stopped', id: message.id });
            break;
          }
        }
      } catch (err) {
        send({ type: 'error', id: message.id, error: errorText(err) });
      }
    })();
  });
  send({ type: 'ready' });
}

main().catch((err: unknown) => send({ type: 'failed', error: errorText(err) }));
