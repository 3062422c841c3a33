/**
 * The local MQTT → Kafka telemetry bridge: what the IoT Core topic rule does in AWS, run against a
 * local MQTT broker (Mosquitto) and a local Kafka broker, from the same definition
 * (lib/iot/telemetry-bridge.ts).
 *
 *   npx ts-node --transpile-only tools/mqtt-bridge.ts \
 *     --mqtt mqtt://127.0.0.1:1883 --kafka 127.0.0.1:9092 --errors .engines/iot-errors
 *
 * - Subscribes to the definition's topic filter with QoS 1 in a persistent MQTT 5 session.
 * - For each message applies `project()`; a projected record goes to telemetry.raw (kafkajs
 *   idempotent producer, acks all, key = device id, Java-compatible partitioner, so a key lands on
 *   the partition the Kafka action's Java producer would pick).
 * - Anything else goes down the error path: the IoT error-action document written as a JSON file under
 *   the error directory, at the path the S3 error action key renders to. S3 cannot run here; the
 *   directory stands in for the error bucket.
 * - Nothing is acknowledged before it is kept: the PUBACK for a message is sent only after Kafka
 *   acknowledged the record or its error document is on disk. Messages are handled one at a time in
 *   arrival order, so the order per device is kept. If the bridge dies in between, the broker
 *   redelivers the message (at least once: a redelivery can duplicate a record, as in AWS).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel as KafkaLogLevel, Partitioners, type Producer } from 'kafkajs';
import { connect, type IPublishPacket, type MqttClient } from 'mqtt';
import {
  FAILED_ACTION,
  TELEMETRY_BRIDGE,
  errorDocument,
  errorObjectKey,
  project,
  telemetryBridge,
  type ErrorActionFailure,
  type TelemetryBridgeDefinition,
} from '../lib/iot/telemetry-bridge';

export interface BridgeOptions {
  /** e.g. mqtt://127.0.0.1:1883 */
  readonly mqttUrl: string;
  /** Kafka bootstrap brokers, e.g. ['127.0.0.1:9092']. */
  readonly kafkaBrokers: readonly string[];
  /** The error directory (the local stand-in for the error bucket). */
  readonly errorDir: string;
  /** @default TELEMETRY_BRIDGE */
  readonly definition?: TelemetryBridgeDefinition;
  /** MQTT client id of the bridge's persistent session. @default 'telemetry-bridge-local' */
  readonly clientId?: string;
  /**
   * How long the broker keeps the session (and queues QoS 1 messages) while the bridge is away.
   * 0 ends the session at disconnect. @default 3600
   */
  readonly sessionExpirySeconds?: number;
  /**
   * Producer retries before a record counts as failed and goes down the error path (as the Kafka
   * action's failure triggers the error action in AWS). kafkajs would retry an idempotent producer
   * forever; that would stall the bridge while the MQTT broker's queue for it fills up and, past its
   * limit (Mosquitto `max_queued_messages`, default 1000), drops messages. @default { retries: 5 }
   */
  readonly kafkaRetry?: {
    readonly retries: number;
    readonly initialRetryTime?: number;
    readonly maxRetryTime?: number;
  };
  /** @default KafkaLogLevel.ERROR */
  readonly kafkaLogLevel?: KafkaLogLevel;
  /** Log lines (error-path writes, connection events). @default console.error */
  readonly log?: (line: string) => void;
  /** Also log every delivered record (partition, offset, key, value). @default false */
  readonly logRecords?: boolean;
}

export interface BridgeCounters {
  /** Messages taken from the broker. */
  received: number;
  /** Records acknowledged by Kafka. */
  delivered: number;
  /** Error documents written (any reason). */
  errored: number;
  /** Error documents by reason. */
  erroredBy: { 'not-json': number; 'not-object': number; 'topic-mismatch': number; kafka: number };
  /** Delivered records whose payload violates the data contract (passed through, see the definition). */
  contractViolations: number;
  /** Messages being handled now (0 or 1): `received === delivered + errored + inFlight` at all times. */
  inFlight: number;
}

export interface BridgeHandle {
  readonly definition: TelemetryBridgeDefinition;
  /** Live counters. */
  readonly counters: Readonly<BridgeCounters>;
  /** Resolves when no message is being handled. */
  idle(): Promise<void>;
  /** Finishes the message in hand, then disconnects; messages not handled stay with the MQTT broker. */
  stop(): Promise<void>;
}

/** Connects to both brokers and subscribes; resolves once the subscription is granted. */
export async function startBridge(options: BridgeOptions): Promise<BridgeHandle> {
  const definition = options.definition ?? TELEMETRY_BRIDGE;
  const log = options.log ?? ((line: string) => console.error(line));
  const errorDir = resolve(options.errorDir);
  const counters: BridgeCounters = {
    received: 0,
    delivered: 0,
    errored: 0,
    erroredBy: { 'not-json': 0, 'not-object': 0, 'topic-mismatch': 0, kafka: 0 },
    contractViolations: 0,
    inFlight: 0,
  };

  const kafka = new Kafka({
    clientId: options.clientId ?? 'telemetry-bridge-local',
    brokers: [...options.kafkaBrokers],
    logLevel: options.kafkaLogLevel ?? KafkaLogLevel.ERROR,
  });
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { ...(options.kafkaRetry ?? { retries: 5 }) },
  });
  await producer.connect();

  let stopping = false;
  let current: Promise<void> = Promise.resolve();

  /** Writes an error document; retries until it is on disk (a message is never acknowledged unkept). */
  async function keep(
    packet: IPublishPacket,
    payload: Buffer,
    receivedAtMs: number,
    failure: ErrorActionFailure,
  ) {
    const traceId = randomUUID();
    const doc = errorDocument({ topic: packet.topic, payload, failures: [failure], traceId, definition });
    const file = join(errorDir, errorObjectKey(receivedAtMs, traceId, definition));
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(dirname(file), { recursive: true });
        await writeFile(`${file}.tmp`, JSON.stringify(doc, null, 2) + '\n');
        await rename(`${file}.tmp`, file);
        log(`error path: ${packet.topic} ${failure.failedAction}: ${failure.errorMessage} -> ${file}`);
        return;
      } catch (err) {
        if (stopping) throw err;
        log(`cannot write ${file} (attempt ${attempt}): ${(err as Error).message}; retrying`);
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * attempt)));
      }
    }
  }

  async function handle(packet: IPublishPacket): Promise<void> {
    counters.received++;
    counters.inFlight++;
    try {
      await route(packet);
    } finally {
      counters.inFlight--;
    }
  }

  async function route(packet: IPublishPacket): Promise<void> {
    const receivedAtMs = Date.now();
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const result = project(packet.topic, payload, receivedAtMs, definition);
    if (!result.ok) {
      await keep(packet, payload, receivedAtMs, {
        failedAction: FAILED_ACTION.ruleEvaluation,
        failedResource: definition.topicFilter,
        errorMessage: `${result.reason}: ${result.message}`,
      });
      counters.errored++;
      counters.erroredBy[result.reason]++;
      return;
    }
    try {
      const [meta] = await producer.send({
        topic: definition.kafkaTopic,
        acks: -1,
        messages: [{ key: result.key, value: result.json }],
      });
      if (options.logRecords) {
        log(
          `delivered: ${definition.kafkaTopic} p${meta?.partition}@${meta?.baseOffset} key=${result.key} ${result.json}`,
        );
      }
      counters.delivered++;
      if (result.contractIssues.length > 0) {
        counters.contractViolations++;
        log(`contract: ${packet.topic} delivered with ${result.contractIssues.join('; ')}`);
      }
    } catch (err) {
      await keep(packet, payload, receivedAtMs, {
        failedAction: FAILED_ACTION.kafka,
        failedResource: definition.kafkaTopic,
        errorMessage: (err as Error).message,
      });
      counters.errored++;
      counters.erroredBy.kafka++;
    }
  }

  const client: MqttClient = connect(options.mqttUrl, {
    clientId: options.clientId ?? 'telemetry-bridge-local',
    protocolVersion: 5,
    clean: false,
    properties: { sessionExpiryInterval: options.sessionExpirySeconds ?? 3600 },
    reconnectPeriod: 1000,
  });
  // mqtt.js sends the PUBACK when this callback runs and handles the next packet only after it, so
  // overriding it (before any packet can arrive) gives "ack after kept" and arrival order.
  client.handleMessage = (packet, callback) => {
    if (stopping) return; // never acknowledged: the broker keeps it for the next session
    current = handle(packet).then(
      () => callback(),
      (err: unknown) => log(`message on ${packet.topic} not acknowledged: ${(err as Error).message}`),
    );
  };
  client.on('error', (err) => log(`mqtt: ${err.message}`));
  client.on('reconnect', () => log('mqtt: reconnecting'));

  try {
    await new Promise<void>((resolveConnect, reject) => {
      client.once('connect', () => resolveConnect());
      client.once('error', reject);
    });
    const granted = await client.subscribeAsync(definition.topicFilter, { qos: 1 });
    if (granted[0]?.qos !== 1)
      throw new Error(`subscription not granted at QoS 1: ${JSON.stringify(granted)}`);
  } catch (err) {
    await client.endAsync(true);
    await producer.disconnect();
    throw err;
  }

  return {
    definition,
    counters,
    idle: async () => {
      let seen: Promise<void> | undefined;
      while (seen !== current) {
        seen = current;
        await seen;
      }
    },
    stop: async () => {
      stopping = true;
      await current;
      await client.endAsync();
      await producer.disconnect();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mqtt: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      kafka: { type: 'string', default: '127.0.0.1:9092' },
      errors: { type: 'string', default: '.engines/iot-errors' },
      'client-id': { type: 'string', default: 'telemetry-bridge-local' },
      'topic-filter': { type: 'string' },
      'log-records': { type: 'boolean', default: false },
    },
  });
  const definition = values['topic-filter']
    ? telemetryBridge({ topicFilter: values['topic-filter'] })
    : undefined;
  const bridge = await startBridge({
    mqttUrl: values.mqtt,
    kafkaBrokers: values.kafka.split(','),
    errorDir: values.errors,
    clientId: values['client-id'],
    logRecords: values['log-records'],
    definition,
  });
  console.log(
    `bridge: ${values.mqtt} ${bridge.definition.topicFilter} (QoS 1) -> ${values.kafka} ${bridge.definition.kafkaTopic}; ` +
      `error documents -> ${resolve(values.errors)}. Ctrl-C stops.`,
  );
  const stop = () => {
    void bridge.stop().then(() => {
      console.log(JSON.stringify(bridge.counters));
      process.exit(0);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
