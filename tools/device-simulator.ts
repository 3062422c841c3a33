/**
 * Device simulator: M devices × N telemetry messages (the data contract: ts, temperature, humidity,
 * battery, status, plus the extra numeric metrics `seq` and `rssi`), values drifting per device, an
 * occasional `status: "error"`, optionally K malformed payloads, published with QoS 1 to
 * `devices/{deviceId}/telemetry`, one MQTT connection per device with client id = device id.
 *
 *   # local broker (default mqtt://127.0.0.1:1883)
 *   npx ts-node --transpile-only tools/device-simulator.ts --devices 3 --messages 10 --malformed 2
 *   # AWS IoT Core: endpoint from DescribeEndpoint (iot:Data-ATS), mqtts on 8883 with X.509 files
 *   npx ts-node --transpile-only tools/device-simulator.ts --aws --region eu-west-1 \
 *     --cert device.pem.crt --key private.pem.key --ca AmazonRootCA1.pem --devices 2 --messages 5
 *
 * In AWS the certificate's IoT policy must allow `iot:Connect` for the simulated client ids and
 * `iot:Publish` to their topics. Each device publishes its messages in order, awaiting every PUBACK;
 * devices publish concurrently.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DescribeEndpointCommand, IoTClient } from '@aws-sdk/client-iot';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import {
  TELEMETRY_BRIDGE,
  type TelemetryBridgeDefinition,
  type TelemetryPayload,
} from '../lib/iot/telemetry-bridge';
import { prng } from './prng';

/** Bad payloads the simulator can send: not JSON, cut-off JSON, JSON that is not an object. */
export const MALFORMED_KINDS = ['binary', 'truncated-json', 'json-array', 'json-scalar'] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

export interface PlannedMessage {
  readonly deviceId: string;
  readonly topic: string;
  readonly payload: Buffer;
  readonly kind: 'telemetry' | MalformedKind;
  /** The payload object, for telemetry messages. */
  readonly telemetry?: TelemetryPayload;
}

export interface PlanOptions {
  /** The device ids (no '/', '+', '#'). */
  readonly deviceIds: readonly string[];
  /** Telemetry messages per device. */
  readonly messagesPerDevice: number;
  /** Malformed payloads in total, spread over the devices. @default 0 */
  readonly malformed?: number;
  /** PRNG seed: the same seed gives the same values. @default 1 */
  readonly seed?: number;
  /** Device clock of each device's first message. @default now − messagesPerDevice × intervalMs */
  readonly startMs?: number;
  /** Device clock step between messages. @default 1000 */
  readonly intervalMs?: number;
  /** Probability of `status: "error"`. @default 0.03 */
  readonly errorRate?: number;
  /** @default TELEMETRY_BRIDGE */
  readonly definition?: TelemetryBridgeDefinition;
}

/** `devices/{deviceId}/telemetry`: the definition's topic filter with the device id at its `+` level. */
export function deviceTopic(
  deviceId: string,
  definition: TelemetryBridgeDefinition = TELEMETRY_BRIDGE,
): string {
  if (deviceId === '' || /[/+#]/.test(deviceId) || deviceId.includes('\u0000'))
    throw new Error(`invalid device id "${deviceId}"`);
  return definition.topicFilter.replace('+', deviceId);
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

function malformedPayload(kind: MalformedKind, sample: TelemetryPayload, random: () => number): Buffer {
  switch (kind) {
    case 'binary': // invalid UTF-8 lead bytes, a NUL, then noise
      return Buffer.from([0xff, 0xfe, 0x00, ...Array.from({ length: 13 }, () => Math.floor(random() * 256))]);
    case 'truncated-json': {
      const json = JSON.stringify(sample);
      return Buffer.from(json.slice(0, Math.floor(json.length / 2)));
    }
    case 'json-array':
      return Buffer.from(JSON.stringify([sample.temperature, sample.humidity]));
    case 'json-scalar':
      return Buffer.from(JSON.stringify(sample.temperature));
  }
}

/**
 * Plans the messages of every device, in publish order per device. Values drift as a random walk
 * around per-device baselines; the battery only drains; K malformed payloads are spread over the
 * devices and positions, cycling through {@link MALFORMED_KINDS}.
 */
export function planTelemetry(options: PlanOptions): PlannedMessage[][] {
  const random = prng(options.seed ?? 1);
  const interval = options.intervalMs ?? 1000;
  const start = options.startMs ?? Date.now() - options.messagesPerDevice * interval;
  const errorRate = options.errorRate ?? 0.03;
  const plans = options.deviceIds.map((deviceId) => {
    const topic = deviceTopic(deviceId, options.definition);
    let temperature = 18 + random() * 8;
    let humidity = 35 + random() * 30;
    let battery = 70 + random() * 30;
    let rssi = -80 + random() * 30;
    const baseline = temperature;
    const jitter = Math.floor(random() * 250);
    return Array.from({ length: options.messagesPerDevice }, (_, seq): PlannedMessage => {
      temperature += (random() - 0.5) * 0.4 + (baseline - temperature) * 0.05;
      humidity = clamp(humidity + (random() - 0.5) * 1.5, 0, 100);
      battery = clamp(battery - random() * 0.08, 0, 100);
      rssi = clamp(rssi + (random() - 0.5) * 3, -110, -30);
      const telemetry: TelemetryPayload = {
        ts: new Date(start + seq * interval + jitter).toISOString(),
        temperature: round(temperature, 2),
        humidity: round(humidity, 1),
        battery: round(battery, 1),
        status: random() < errorRate ? 'error' : 'ok',
        seq,
        rssi: Math.round(rssi),
      };
      return {
        deviceId,
        topic,
        payload: Buffer.from(JSON.stringify(telemetry)),
        kind: 'telemetry',
        telemetry,
      };
    });
  });
  // K malformed payloads: device k % M gets the k-th, spread evenly between its telemetry messages.
  const bad: PlannedMessage[][] = plans.map(() => []);
  const fallback: TelemetryPayload = {
    ts: new Date(start).toISOString(),
    temperature: 21.5,
    humidity: 40,
    battery: 90,
    status: 'ok',
  };
  for (let k = 0; k < (options.malformed ?? 0); k++) {
    const d = k % plans.length;
    const sample = plans[d]![k % Math.max(1, plans[d]!.length)]?.telemetry ?? fallback;
    const kind = MALFORMED_KINDS[k % MALFORMED_KINDS.length]!;
    const deviceId = options.deviceIds[d]!;
    bad[d]!.push({
      deviceId,
      topic: deviceTopic(deviceId, options.definition),
      payload: malformedPayload(kind, sample, random),
      kind,
    });
  }
  return plans.map((good, d) => {
    const extra = bad[d]!;
    const out: PlannedMessage[] = [];
    let i = 0;
    extra.forEach((message, j) => {
      const upTo = Math.floor(((j + 1) * good.length) / (extra.length + 1));
      while (i < upTo) out.push(good[i++]!);
      out.push(message);
    });
    while (i < good.length) out.push(good[i++]!);
    return out;
  });
}

/** Opens the MQTT connection of one device (client id = device id). */
export type DeviceConnector = (deviceId: string) => Promise<MqttClient>;

/** A local broker, e.g. mqtt://127.0.0.1:1883. */
export function localConnector(url = 'mqtt://127.0.0.1:1883', options: IClientOptions = {}): DeviceConnector {
  return (deviceId) => connectAsync(url, { clientId: deviceId, reconnectPeriod: 0, ...options }, false);
}

/** The account's IoT Core data endpoint (ATS): DescribeEndpoint with endpointType iot:Data-ATS. */
export async function describeIotDataEndpoint(region?: string): Promise<string> {
  const iot = new IoTClient(region ? { region } : {});
  try {
    const { endpointAddress } = await iot.send(new DescribeEndpointCommand({ endpointType: 'iot:Data-ATS' }));
    if (!endpointAddress) throw new Error('DescribeEndpoint returned no endpointAddress');
    return endpointAddress;
  } finally {
    iot.destroy();
  }
}

export interface AwsIotConnectorOptions {
  /** Data endpoint; looked up with DescribeEndpoint when absent. */
  readonly endpoint?: string;
  readonly region?: string;
  /** X.509 device certificate (PEM file). */
  readonly certFile: string;
  /** Its private key (PEM file). */
  readonly keyFile: string;
  /** The Amazon root CA (PEM file). */
  readonly caFile: string;
}

/** AWS IoT Core over mqtts on 8883 with mutual TLS. */
export async function awsIotConnector(options: AwsIotConnectorOptions): Promise<DeviceConnector> {
  const endpoint = options.endpoint ?? (await describeIotDataEndpoint(options.region));
  const tls = {
    cert: readFileSync(options.certFile),
    key: readFileSync(options.keyFile),
    ca: readFileSync(options.caFile),
  };
  return (deviceId) =>
    connectAsync(
      `mqtts://${endpoint}:8883`,
      { clientId: deviceId, ...tls, rejectUnauthorized: true, reconnectPeriod: 0, protocolVersion: 4 },
      false,
    );
}

export interface PublishSummary {
  readonly devices: number;
  readonly published: number;
  readonly byKind: Readonly<Record<PlannedMessage['kind'], number>>;
  readonly millis: number;
}

/** Publishes every device's plan in order with QoS 1 (awaiting each PUBACK); devices run concurrently. */
export async function publishPlan(
  plans: readonly (readonly PlannedMessage[])[],
  connectDevice: DeviceConnector,
  concurrency = 16,
): Promise<PublishSummary> {
  const started = Date.now();
  const byKind: Record<PlannedMessage['kind'], number> = {
    telemetry: 0,
    binary: 0,
    'truncated-json': 0,
    'json-array': 0,
    'json-scalar': 0,
  };
  let next = 0;
  const worker = async () => {
    while (next < plans.length) {
      const plan = plans[next++]!;
      if (plan.length === 0) continue;
      const client = await connectDevice(plan[0]!.deviceId);
      try {
        for (const message of plan) {
          await client.publishAsync(message.topic, message.payload, { qos: 1 });
          byKind[message.kind]++;
        }
      } finally {
        await client.endAsync();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, plans.length) }, worker));
  const published = Object.values(byKind).reduce((a, b) => a + b, 0);
  return { devices: plans.length, published, byKind, millis: Date.now() - started };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      aws: { type: 'boolean', default: false },
      region: { type: 'string' },
      endpoint: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      ca: { type: 'string' },
      devices: { type: 'string', default: '3' },
      messages: { type: 'string', default: '10' },
      malformed: { type: 'string', default: '0' },
      prefix: { type: 'string', default: 'sim' },
      seed: { type: 'string', default: '1' },
      'interval-ms': { type: 'string', default: '1000' },
      'error-rate': { type: 'string', default: '0.03' },
    },
  });
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min} (got ${v})`);
    return n;
  };
  const devices = int('devices', values.devices, 1);
  const deviceIds = Array.from(
    { length: devices },
    (_, i) => `${values.prefix}-${String(i + 1).padStart(3, '0')}`,
  );
  const plans = planTelemetry({
    deviceIds,
    messagesPerDevice: int('messages', values.messages, 0),
    malformed: int('malformed', values.malformed, 0),
    seed: int('seed', values.seed, 0),
    intervalMs: int('interval-ms', values['interval-ms'], 0),
    errorRate: Number(values['error-rate']),
  });
  let connector: DeviceConnector;
  if (values.aws) {
    if (!values.cert || !values.key || !values.ca) throw new Error('--aws needs --cert, --key and --ca');
    connector = await awsIotConnector({
      endpoint: values.endpoint,
      region: values.region,
      certFile: values.cert,
      keyFile: values.key,
      caFile: values.ca,
    });
  } else {
    connector = localConnector(values.url);
  }
  const summary = await publishPlan(plans, connector);
  console.log(JSON.stringify({ target: values.aws ? 'aws-iot' : values.url, ...summary }));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
