/**
 * The enrich function: an MSK consumer of events.user and cdc.orders (one event source mapping per
 * topic), producing to events.enriched. Environment: EVENTS_TOPIC, ORDERS_TOPIC, ENRICHED_TOPIC,
 * STATE_TABLE, DEDUPE_HORIZON_SECONDS, CLAIM_LEASE_SECONDS, and the consumer runtime's own.
 */
import { dynamoClient } from '../shared/consumer/dedupe';
import { consumerHandlerFromEnvironment, type ConsumerEnvironment } from '../shared/consumer/runtime';
import { createEnrichConsumer } from './enrich';

function required(env: ConsumerEnvironment, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

function positiveSeconds(env: ConsumerEnvironment, name: string): number {
  const value = Number(required(env, name));
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive whole number of seconds (got ${env[name]})`);
  }
  return value;
}

export const handler = consumerHandlerFromEnvironment((env) =>
  createEnrichConsumer({
    eventsTopic: required(env, 'EVENTS_TOPIC'),
    ordersTopic: required(env, 'ORDERS_TOPIC'),
    enrichedTopic: required(env, 'ENRICHED_TOPIC'),
    deadLetterTopic: env.DEAD_LETTER_TOPIC,
    table: required(env, 'STATE_TABLE'),
    dynamo: dynamoClient(),
    dedupeHorizonSeconds: positiveSeconds(env, 'DEDUPE_HORIZON_SECONDS'),
    claimLeaseSeconds: positiveSeconds(env, 'CLAIM_LEASE_SECONDS'),
  }),
);
