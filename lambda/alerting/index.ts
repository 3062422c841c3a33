/**
 * The alerting function: an MSK consumer of telemetry.alerts publishing each alert once to the
 * alerts SNS topic (docs/telemetry-path.md, "Alerting"). Environment: ALERTS_TOPIC, SNS_TOPIC_ARN,
 * STATE_TABLE, DEDUPE_HORIZON_SECONDS, CLAIM_LEASE_SECONDS, and the consumer runtime's own
 * (SNS_ENDPOINT and DYNAMODB_ENDPOINT only for the local engines).
 */
import { dynamoClient } from '../shared/consumer/dedupe';
import { consumerHandlerFromEnvironment, positiveSeconds, required } from '../shared/consumer/runtime';
import { createAlertingConsumer, snsClient, snsPublisher } from './alerting';

export const handler = consumerHandlerFromEnvironment((env) =>
  createAlertingConsumer({
    alertsTopic: required(env, 'ALERTS_TOPIC'),
    deadLetterTopic: env.DEAD_LETTER_TOPIC,
    table: required(env, 'STATE_TABLE'),
    dynamo: dynamoClient(),
    publish: snsPublisher(snsClient(env), required(env, 'SNS_TOPIC_ARN')),
    dedupeHorizonSeconds: positiveSeconds(env, 'DEDUPE_HORIZON_SECONDS'),
    claimLeaseSeconds: positiveSeconds(env, 'CLAIM_LEASE_SECONDS'),
  }),
);
