/**
 * POST /events behind API Gateway (IAM authorization): one app event, or `{ "events": [...] }`.
 * The Kafka client and its idempotent producer are created once per container and reused.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createKafka, createProducer, kafkaAuthFrom, producerCache } from '../shared/kafka-client';
import { logger } from '../shared/powertools';
import { ingest } from './ingest';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

const TOPIC = required('EVENTS_TOPIC');
const MAX_BATCH_SIZE = Number(required('MAX_BATCH_SIZE'));
/** The topic's max.message.bytes, from the catalog. */
const MAX_MESSAGE_BYTES = Number(required('MAX_MESSAGE_BYTES'));

/** Connected only when a valid request has something to send; replaced when it became unusable. */
const producers = producerCache(() =>
  createProducer(
    createKafka({
      brokers: required('BOOTSTRAP_BROKERS'),
      auth: kafkaAuthFrom(process.env.KAFKA_AUTH),
      region: process.env.AWS_REGION,
      clientId: 'ingest',
    }),
  ),
);

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const body =
    event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  let result;
  try {
    result = await ingest(body, {
      producer: producers.get, // connected only when a valid request has something to send
      topic: TOPIC,
      maxBatchSize: MAX_BATCH_SIZE,
      maxMessageBytes: MAX_MESSAGE_BYTES,
    });
  } catch (err) {
    logger.error('ingest failed', { error: (err as Error).message });
    result = {
      statusCode: 503 as const,
      body: {
        error: 'kafka_unavailable' as const,
        message: 'the event store is unavailable; retry the same request',
      },
    };
  }
  logger[result.statusCode === 202 ? 'info' : 'warn']('ingest', {
    statusCode: result.statusCode,
    error: result.body.error,
    ...(result.statusCode === 503 ? { detail: result.body.message } : {}),
    items: result.body.results?.length,
    requestId: event.requestContext?.requestId,
  });
  return {
    statusCode: result.statusCode,
    headers: {
      'content-type': 'application/json',
      ...(result.statusCode === 503 ? { 'retry-after': '1' } : {}),
    },
    body: JSON.stringify(result.body),
  };
}

/** Tests and local tools close the shared producer with this. */
export async function closeProducer(): Promise<void> {
  await producers.close();
}
