/**
 * The aggregate function: an MSK consumer of events.enriched (docs/events-path.md, "aggregate").
 * Built once per container from the environment the CDK sets from the topic catalog and config:
 * ENRICHED_TOPIC, AGGREGATES_TOPIC, STATE_TABLE, WINDOWS, DIMENSIONS, ALLOWED_LATENESS_SECONDS,
 * DEDUPE_HORIZON_SECONDS, CLAIM_LEASE_SECONDS, OPENSEARCH_ENDPOINT, OPENSEARCH_AUTH (iam | none),
 * OPENSEARCH_INDEX_PREFIX, and the consumer runtime's own.
 */
import {
  consumerHandlerFromEnvironment,
  positiveSeconds,
  required,
  seconds,
} from '../shared/consumer/runtime';
import { dynamoClient } from '../shared/consumer/dedupe';
import { createAggregateConsumer } from './aggregate';
import { createSearchTransport, searchAuthFrom } from '../shared/search/transport';
import { parseDimensions, parseWindowSizes } from './windows';

export const handler = consumerHandlerFromEnvironment((env) =>
  createAggregateConsumer({
    enrichedTopic: required(env, 'ENRICHED_TOPIC'),
    aggregatesTopic: required(env, 'AGGREGATES_TOPIC'),
    deadLetterTopic: env.DEAD_LETTER_TOPIC,
    table: required(env, 'STATE_TABLE'),
    dynamo: dynamoClient(),
    dedupeHorizonSeconds: positiveSeconds(env, 'DEDUPE_HORIZON_SECONDS'),
    claimLeaseSeconds: positiveSeconds(env, 'CLAIM_LEASE_SECONDS'),
    search: createSearchTransport({
      endpoint: required(env, 'OPENSEARCH_ENDPOINT'),
      auth: searchAuthFrom(env.OPENSEARCH_AUTH),
      region: env.AWS_REGION,
    }),
    indexPrefix: required(env, 'OPENSEARCH_INDEX_PREFIX'),
    windows: parseWindowSizes(required(env, 'WINDOWS')),
    dimensions: parseDimensions(required(env, 'DIMENSIONS')),
    allowedLatenessSeconds: seconds(env, 'ALLOWED_LATENESS_SECONDS'),
  }),
);
