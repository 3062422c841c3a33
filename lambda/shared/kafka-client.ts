/**
 * The platform's Kafka client factory for Lambda functions and tools: IAM authentication against
 * MSK (aws-msk-iam-sasl-signer-js, OAUTHBEARER over TLS) or plaintext for the local engines.
 */
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';

export type KafkaAuth = 'iam' | 'none';

export interface KafkaClientOptions {
  /** Comma-separated bootstrap brokers (MSK: the IAM listener string). */
  readonly brokers: string;
  readonly auth: KafkaAuth;
  /** Needed for IAM: the cluster's region. */
  readonly region?: string;
  readonly clientId: string;
}

export function createKafka(options: KafkaClientOptions): Kafka {
  const brokers = options.brokers
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new Error('no bootstrap brokers configured');
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers,
    logLevel: logLevel.WARN,
    connectionTimeout: 5_000,
    requestTimeout: 15_000,
    retry: { retries: 5, initialRetryTime: 200 },
  };
  if (options.auth === 'iam') {
    const region = options.region;
    if (!region) throw new Error('IAM authentication needs a region');
    config.ssl = true;
    config.sasl = {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({ value: (await generateAuthToken({ region })).token }),
    };
  }
  return new Kafka(config);
}

/** Reads `KAFKA_AUTH`, accepting only the known modes. */
export function kafkaAuthFrom(value: string | undefined): KafkaAuth {
  if (value === 'iam' || value === 'none') return value;
  throw new Error(`KAFKA_AUTH must be iam or none (got ${JSON.stringify(value)})`);
}
