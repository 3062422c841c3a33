/**
 * The enrich function: an MSK consumer of events.user and cdc.orders (one event source mapping per
 * topic), producing to events.enriched. Environment: EVENTS_TOPIC, ORDERS_TOPIC, ENRICHED_TOPIC,
 * STATE_TABLE, DEDUPE_HORIZON_SECONDS, CLAIM_LEASE_SECONDS, and the consumer runtime's own.
 */
import { dynamoClient } from '../shared/consumer/dedupe';
import { consumerHandlerFromEnvironment, positiveSeconds, required } from '../shared/consumer/runtime';
import { createEnrichConsumer } from './enrich';

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
