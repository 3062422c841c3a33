/**
 * The Kafka client factory: the producer settings idempotence rests on, asserted exactly, and the
 * MSK IAM token, byte for byte the one AWS's signer (aws-msk-iam-sasl-signer-js) builds.
 */
import { generateAuthTokenFromCredentialsProvider } from 'aws-msk-iam-sasl-signer-js';
import { Kafka, KafkaJSNonRetriableError, KafkaJSProtocolError, type Producer } from 'kafkajs';
import {
  createProducer,
  kafkaAuthFrom,
  kafkaConfig,
  needsNewProducer,
  PRODUCE_ACKS,
  PRODUCER_CONFIG,
  producerCache,
} from '../../lambda/shared/kafka-client';
import { credentialsFromEnvironment, mskIamToken } from '../../lambda/shared/msk-iam-token';

describe('the platform producer', () => {
  test('is idempotent, one request in flight, no topic auto-creation, 5 bounded retries', () => {
    const kafka = new Kafka({ clientId: 'unit', brokers: ['127.0.0.1:1'] });
    const spy = jest.spyOn(kafka, 'producer');
    createProducer(kafka);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0]![0]).toEqual({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
    expect(PRODUCER_CONFIG).toEqual(spy.mock.calls[0]![0]);
  });

  test('sends with acks -1 (all in-sync replicas), which kafkajs requires of an idempotent producer', () => {
    expect(PRODUCE_ACKS).toBe(-1);
  });

  test('kafkajs refuses an idempotent send with other acks, so the setting cannot drift silently', async () => {
    const producer = createProducer(new Kafka({ clientId: 'unit', brokers: ['127.0.0.1:1'] }));
    // kafkajs checks acks before anything else, without a connection.
    await expect(producer.send({ topic: 't', acks: 1, messages: [{ value: 'x' }] })).rejects.toThrow(
      "Not requiring ack for all messages invalidates the idempotent producer's EoS guarantees",
    );
  });

  test('the settings object cannot be changed at run time', () => {
    expect(Object.isFrozen(PRODUCER_CONFIG)).toBe(true);
    expect(Object.isFrozen(PRODUCER_CONFIG.retry)).toBe(true);
  });
});

describe('the container producer after a broker restart', () => {
  const protocolError = (type: string): KafkaJSProtocolError =>
    Object.assign(new KafkaJSProtocolError(type), { type });
  /** As kafkajs' retrier rejects a send whose error is not retriable. */
  const wrapped = (e: Error): KafkaJSNonRetriableError =>
    Object.assign(new KafkaJSNonRetriableError(e), { cause: e });

  test('an out-of-order sequence number or a lost producer id, bare or wrapped, needs a new producer', () => {
    for (const type of [
      'OUT_OF_ORDER_SEQUENCE_NUMBER',
      'UNKNOWN_PRODUCER_ID',
      'INVALID_PRODUCER_EPOCH',
      'INVALID_PRODUCER_ID_MAPPING',
    ]) {
      expect(needsNewProducer(protocolError(type))).toBe(true);
      expect(needsNewProducer(wrapped(protocolError(type)))).toBe(true);
    }
    expect(needsNewProducer(protocolError('NOT_LEADER_OR_FOLLOWER'))).toBe(false);
    expect(needsNewProducer(new Error('Connection error: connect ECONNREFUSED'))).toBe(false);
    expect(needsNewProducer(undefined)).toBe(false);
  });

  test('the cache replaces a producer whose send failed so, and keeps it after any other failure', async () => {
    const made: { connects: number; disconnects: number; failWith?: Error }[] = [];
    const cache = producerCache(() => {
      const state: (typeof made)[number] = { connects: 0, disconnects: 0 };
      made.push(state);
      const fake = {
        connect: () => Promise.resolve(void state.connects++),
        disconnect: () => Promise.resolve(void state.disconnects++),
        send: () => (state.failWith ? Promise.reject(state.failWith) : Promise.resolve([])),
      };
      return fake as unknown as Producer;
    });
    const first = await cache.get();
    expect(await cache.get()).toBe(first);
    made[0]!.failWith = protocolError('NOT_LEADER_OR_FOLLOWER');
    await expect(first.send({ topic: 't', messages: [] })).rejects.toThrow();
    expect(await cache.get()).toBe(first);
    made[0]!.failWith = wrapped(protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER'));
    await expect(first.send({ topic: 't', messages: [] })).rejects.toThrow();
    const second = await cache.get();
    expect(second).not.toBe(first);
    expect(made.map((m) => [m.connects, m.disconnects])).toEqual([
      [1, 1],
      [1, 0],
    ]);
    await cache.close();
    expect(made[1]!.disconnects).toBe(1);
  });
});

describe('the Kafka client', () => {
  test('IAM: TLS and SASL OAUTHBEARER whose token is the MSK IAM token of the given credentials', async () => {
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
    const config = kafkaConfig({
      brokers: 'b-1.example:9098, b-2.example:9098',
      auth: 'iam',
      region: 'eu-west-1',
      clientId: 'unit',
      credentials: () => credentials,
    });
    const { sasl, ...rest } = config;
    expect(rest).toEqual({
      clientId: 'unit',
      brokers: ['b-1.example:9098', 'b-2.example:9098'],
      logLevel: 2, // WARN
      connectionTimeout: 5_000,
      requestTimeout: 15_000,
      retry: { retries: 5, initialRetryTime: 200 },
      ssl: true,
    });
    expect(sasl).toEqual({ mechanism: 'oauthbearer', oauthBearerProvider: expect.any(Function) });
    jest.useFakeTimers({ now: new Date('2026-11-25T06:33:57.123Z') });
    try {
      const provided = await (
        sasl as { oauthBearerProvider: () => Promise<{ value: string }> }
      ).oauthBearerProvider();
      expect(provided).toEqual({ value: mskIamToken('eu-west-1', credentials, new Date()).token });
    } finally {
      jest.useRealTimers();
    }
  });

  test('locally: plaintext, no SASL', () => {
    const config = kafkaConfig({ brokers: '127.0.0.1:9092', auth: 'none', clientId: 'unit' });
    expect(config.ssl).toBeUndefined();
    expect(config.sasl).toBeUndefined();
  });

  test('refuses what it cannot use', () => {
    expect(() => kafkaConfig({ brokers: 'b:9098', auth: 'iam', clientId: 'unit' })).toThrow(
      'IAM authentication needs a region',
    );
    expect(() => kafkaConfig({ brokers: ' , ', auth: 'none', clientId: 'unit' })).toThrow(
      'no bootstrap brokers configured',
    );
    expect(kafkaAuthFrom('iam')).toBe('iam');
    expect(() => kafkaAuthFrom('scram')).toThrow('KAFKA_AUTH must be iam or none (got "scram")');
  });
});

describe('the MSK IAM token', () => {
  const credentials = {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    sessionToken: 'IQoJb3JpZ2luX2VjE/+=session',
  };
  const NOW = new Date('2026-11-25T06:33:57.123Z');

  beforeEach(() => jest.useFakeTimers({ now: NOW }));
  afterEach(() => jest.useRealTimers());

  test.each([
    ['with a session token', credentials, 'eu-west-1'],
    ['without a session token', { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'k' }, 'us-east-1'],
    [
      'credentials expiring in 10 minutes',
      { ...credentials, expiration: new Date(NOW.getTime() + 600_000) },
      'eu-central-1',
    ],
  ])('%s: byte for byte the token of aws-msk-iam-sasl-signer-js 1.0.3', async (_name, creds, region) => {
    const reference = await generateAuthTokenFromCredentialsProvider({
      region,
      awsCredentialsProvider: () => Promise.resolve(creds),
    });
    const ours = mskIamToken(region, creds, new Date());
    expect(ours.token).toBe(reference.token);
    expect(ours.expiresAt).toBe(reference.expiryTime);
  });

  test('a known token, written out: its signature computed once by the AWS signer (SigV4 presigned kafka-cluster:Connect, 900 s)', () => {
    const url = Buffer.from(mskIamToken('eu-west-1', credentials, NOW).token, 'base64url').toString();
    expect(url).toBe(
      'https://kafka.eu-west-1.amazonaws.com/?Action=kafka-cluster%3AConnect' +
        '&User-Agent=aws-msk-iam-sasl-signer-js%2F1.0.3&X-Amz-Algorithm=AWS4-HMAC-SHA256' +
        '&X-Amz-Credential=AKIDEXAMPLE%2F20261125%2Feu-west-1%2Fkafka-cluster%2Faws4_request' +
        '&X-Amz-Date=20261125T063357Z&X-Amz-Expires=900' +
        '&X-Amz-Security-Token=IQoJb3JpZ2luX2VjE%2F%2B%3Dsession' +
        '&X-Amz-Signature=9b567c3d75c3d4eab7b35e7f66dd7bcfcd8a047699942c7103cdaefe63e4538b&X-Amz-SignedHeaders=host',
    );
  });

  test('credentials come from the variables Lambda sets, and are required', () => {
    expect(
      credentialsFromEnvironment({
        AWS_ACCESS_KEY_ID: 'a',
        AWS_SECRET_ACCESS_KEY: 'b',
        AWS_SESSION_TOKEN: 'c',
      }),
    ).toEqual({ accessKeyId: 'a', secretAccessKey: 'b', sessionToken: 'c' });
    expect(() => credentialsFromEnvironment({})).toThrow('IAM authentication needs AWS_ACCESS_KEY_ID');
  });
});
