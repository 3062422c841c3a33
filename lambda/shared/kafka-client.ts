/**
 * The platform's Kafka client factory for Lambda functions and tools: IAM authentication against
 * MSK (SASL OAUTHBEARER over TLS, with the token of ./msk-iam-token) or plaintext for the local
 * engines; and the one producer configuration every platform producer uses.
 */
import { Kafka, logLevel, type KafkaConfig, type Producer, type ProducerConfig } from 'kafkajs';
import { credentialsFromEnvironment, mskIamToken, type AwsCredentials } from './msk-iam-token';

export type KafkaAuth = 'iam' | 'none';

export interface KafkaClientOptions {
  /** Comma-separated bootstrap brokers (MSK: the IAM listener string). */
  readonly brokers: string;
  readonly auth: KafkaAuth;
  /** Needed for IAM: the cluster's region. */
  readonly region?: string;
  readonly clientId: string;
  /**
   * Where IAM credentials come from, asked again for every token.
   * @default the AWS_* variables Lambda sets in every function's environment
   */
  readonly credentials?: () => AwsCredentials;
}

/** The kafkajs client configuration for these options (plain data, apart from the token provider). */
export function kafkaConfig(options: KafkaClientOptions): KafkaConfig {
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
    const credentials = options.credentials ?? (() => credentialsFromEnvironment());
    config.ssl = true;
    config.sasl = {
      mechanism: 'oauthbearer',
      oauthBearerProvider: () => Promise.resolve({ value: mskIamToken(region, credentials()).token }),
    };
  }
  return config;
}

export function createKafka(options: KafkaClientOptions): Kafka {
  return new Kafka(kafkaConfig(options));
}

/**
 * Every platform producer: idempotent (the broker gives it a producer id and drops a retried batch
 * whose sequence number it already wrote, so kafkajs' own retries never duplicate a record), one
 * request in flight per broker connection (kafkajs tracks sequence numbers on the client and
 * documents idempotence with maxInFlightRequests 1), no topic auto-creation (topics come from the
 * catalog), and a bounded number of retries, so that a request/response caller answers within its
 * time limit: the retries are explicit because kafkajs' default for an idempotent producer
 * (Number.MAX_SAFE_INTEGER) is replaced by the client's `retry` anyway. When they run out, the
 * caller does not know whether the batch was written and must send it again (a new sequence
 * number: downstream deduplication by key, eventId for app events, covers that case).
 */
export const PRODUCER_CONFIG: Readonly<ProducerConfig> = Object.freeze({
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  retry: Object.freeze({ retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 }),
});

/** The acks of every send: all in-sync replicas (kafkajs refuses anything else from an idempotent producer). */
export const PRODUCE_ACKS = -1;

/** A producer with {@link PRODUCER_CONFIG}; send with `acks: PRODUCE_ACKS`. */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({ ...PRODUCER_CONFIG, retry: { ...PRODUCER_CONFIG.retry } });
}

/**
 * Protocol errors after which an idempotent kafkajs producer stays unusable: kafkajs advances a
 * partition's sequence number for a batch whose write it could not confirm (a broker restart in
 * the middle of a send), the broker then refuses every later batch of that producer id with
 * OUT_OF_ORDER_SEQUENCE_NUMBER, and kafkajs never resets it. Only a new producer (a new producer
 * id, sequence numbers from 0) writes again.
 */
const UNUSABLE_PRODUCER_ERRORS: ReadonlySet<string> = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
]);

/** Whether a send failed so that its producer must be replaced (the error or one it wraps). */
export function needsNewProducer(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { type, originalError, cause } = e as { type?: unknown; originalError?: unknown; cause?: unknown };
    if (typeof type === 'string' && UNUSABLE_PRODUCER_ERRORS.has(type)) return true;
    e = originalError ?? cause;
  }
  return false;
}

/**
 * One producer per container, connected on first use; a failed connect is tried again on the next
 * call, and a producer whose send failed with {@link needsNewProducer} is dropped (disconnected in
 * the background), so that the next call connects a new one. The failed send still throws: its
 * caller answers or retries as for any unconfirmed write.
 */
export function producerCache(create: () => Producer): {
  /** The connected producer. */
  readonly get: () => Promise<Producer>;
  /** Disconnects it (tests and local tools); the next `get` connects a new one. */
  readonly close: () => Promise<void>;
} {
  let current: Promise<Producer> | undefined;
  const connect = async (): Promise<Producer> => {
    const p = create();
    await p.connect();
    const send = p.send.bind(p);
    p.send = async (record) => {
      try {
        return await send(record);
      } catch (err) {
        if (needsNewProducer(err) && current === connecting) {
          current = undefined;
          void p.disconnect().catch(() => undefined);
        }
        throw err;
      }
    };
    return p;
  };
  let connecting: Promise<Producer> | undefined;
  return {
    get: () => {
      if (!current) {
        connecting = connect().catch((err: unknown) => {
          current = undefined; // the next call connects again
          throw err;
        });
        current = connecting;
      }
      return current;
    },
    close: async () => {
      const p = current;
      current = undefined;
      if (p) await (await p).disconnect();
    },
  };
}

/** Reads `KAFKA_AUTH`, accepting only the known modes. */
export function kafkaAuthFrom(value: string | undefined): KafkaAuth {
  if (value === 'iam' || value === 'none') return value;
  throw new Error(`KAFKA_AUTH must be iam or none (got ${JSON.stringify(value)})`);
}
