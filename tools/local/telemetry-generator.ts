/**
 * Device telemetry over MQTT (QoS 1, one connection per device, client id = device id) to the local
 * broker, where the MQTT bridge takes it to telemetry.raw. Readings come from the device simulator
 * (tools/device-simulator.ts `planTelemetry`), one plan per session: each device sends a session of
 * 4..9 readings 20 s apart (device clock), then stays quiet for longer than the session gap, so that
 * sessions close and reach the lake during the run.
 *
 * The device clocks run `timeScale` times faster than the wall clock, so that a run of a minute covers
 * many session gaps of the configured length (300 s in every environment). They end the planned
 * duration two minutes behind the wall clock (and keep the wall clock's pace if the run goes on),
 * and at the end every device sends one closing reading a session gap plus the out-of-orderness
 * bound later (still within `maxFutureSkewSeconds` of now): the watermark
 * then passes every earlier session's end, so each of them closes; the closing readings stay in open
 * sessions. Now and then a reading is hot (above the temperature limit): the alert it raises is
 * traced back to it for the reading -> alert latency.
 */
import type { MqttClient } from 'mqtt';
import type { TelemetryConfig } from '../../lib/config/platform-config';
import type { TelemetryBridgeDefinition, TelemetryPayload } from '../../lib/iot/telemetry-bridge';
import { deviceTopic, localConnector, planTelemetry, type PlannedMessage } from '../device-simulator';
import { prng } from '../prng';
import { deriveSeed } from './stats';

/** Device-clock spacing of readings within a session. */
const READING_SPACING_MS = 20_000;
const TICK_MS = 50;
/** The device clocks end the run this far behind the wall clock. */
const END_LAG_MS = 120_000;

export interface TelemetryGeneratorOptions {
  readonly mqttUrl: string;
  readonly devices: number;
  /** Readings per second over all devices (wall clock). */
  readonly rate: number;
  readonly seed: number;
  readonly telemetry: TelemetryConfig;
  /** Planned length of the run (the device clocks end it END_LAG_MS behind the wall clock). */
  readonly durationMs: number;
  /** Share of readings above the temperature limit. */
  readonly hotShare: number;
  /** Device id prefix. */
  readonly prefix: string;
  /** The bridge's definition (its topic filter names the device topics). */
  readonly definition: TelemetryBridgeDefinition;
}

export interface TelemetryCounters {
  published: number;
  acked: number;
  failed: number;
  sessionsStarted: number;
  hotReadings: number;
  closingReadings: number;
}

interface DeviceState {
  readonly id: string;
  readonly topic: string;
  client?: MqttClient;
  session: number;
  queue: PlannedMessage[];
  /** Device-clock time of the next session's first reading, when the queue is empty. */
  nextSessionAt: number;
  lastTs: number;
}

export class TelemetryGenerator {
  public readonly counters: TelemetryCounters = {
    published: 0,
    acked: 0,
    failed: 0,
    sessionsStarted: 0,
    hotReadings: 0,
    closingReadings: 0,
  };
  /** `<deviceId>|<ts>` -> wall time the reading was published, for every reading. */
  public readonly publishedAt = new Map<string, number>();
  /** Device clock speed over wall clock. */
  public readonly timeScale: number;
  private readonly random: () => number;
  private readonly devices: DeviceState[];
  private t0 = 0;
  private clock0 = 0;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: TelemetryGeneratorOptions) {
    this.random = prng(deriveSeed(options.seed, 'telemetry'));
    const gapMs = options.telemetry.sessionGapSeconds * 1000;
    // Average device-clock cycle: 6.5 readings 20 s apart, then the gap plus 20..80 s.
    const cycleMs = 6.5 * READING_SPACING_MS + gapMs + 50_000;
    const perDevicePerDeviceSecond = 6.5 / (cycleMs / 1000);
    this.timeScale = Math.max(
      1,
      Math.round((options.rate / (options.devices * perDevicePerDeviceSecond)) * 10) / 10,
    );
    this.devices = Array.from({ length: options.devices }, (_, i) => {
      const id = `${options.prefix}-${String(i + 1).padStart(3, '0')}`;
      const topic = deviceTopic(id, options.definition);
      return { id, topic, session: 0, queue: [], nextSessionAt: 0, lastTs: 0 };
    });
  }

  /**
   * The device clock now: `timeScale` times the wall clock for the planned duration, then the wall
   * clock's pace, so a run kept going past its plan (a fault hook that takes longer) stays
   * END_LAG_MS behind the wall clock instead of running into the future (past
   * `maxFutureSkewSeconds`, where the job would dead-letter its readings as from the future).
   */
  deviceClock(now = Date.now()): number {
    const elapsed = now - this.t0;
    const planned = Math.min(elapsed, this.options.durationMs);
    return this.clock0 + planned * this.timeScale + (elapsed - planned);
  }

  /** Opens every device's connection and starts publishing. */
  async start(): Promise<void> {
    const connect = localConnector(this.options.mqttUrl);
    for (const device of this.devices) device.client = await connect(device.id);
    this.t0 = Date.now();
    this.clock0 = this.t0 + this.options.durationMs - END_LAG_MS - this.options.durationMs * this.timeScale;
    const cycleMs = 6.5 * READING_SPACING_MS + this.options.telemetry.sessionGapSeconds * 1000 + 50_000;
    // Devices start at staggered points of their cycle.
    for (const device of this.devices)
      device.nextSessionAt = this.clock0 + Math.floor(this.random() * cycleMs);
    this.running = true;
    this.loop = this.run();
  }

  private plan(device: DeviceState): PlannedMessage[] {
    const readings = 4 + Math.floor(this.random() * 6);
    const [plan] = planTelemetry({
      deviceIds: [device.id],
      messagesPerDevice: readings,
      seed: deriveSeed(this.options.seed, device.id, device.session),
      startMs: device.nextSessionAt,
      intervalMs: READING_SPACING_MS,
      definition: this.options.definition,
    });
    device.session++;
    this.counters.sessionsStarted++;
    const limit = this.options.telemetry.alerts.temperatureHighC;
    return plan!.map((message) => {
      if (this.random() >= this.options.hotShare || !message.telemetry) return message;
      this.counters.hotReadings++;
      return this.withTemperature(message, limit + 1 + Math.round(this.random() * 80) / 10);
    });
  }

  private withTemperature(message: PlannedMessage, temperature: number): PlannedMessage {
    const telemetry: TelemetryPayload = { ...message.telemetry!, temperature };
    return { ...message, telemetry, payload: Buffer.from(JSON.stringify(telemetry)) };
  }

  private async run(): Promise<void> {
    const gapMs = this.options.telemetry.sessionGapSeconds * 1000;
    while (this.running) {
      const started = Date.now();
      const clock = this.deviceClock(started);
      const due: { device: DeviceState; message: PlannedMessage }[] = [];
      for (const device of this.devices) {
        for (;;) {
          if (device.queue.length === 0) {
            if (device.nextSessionAt > clock) break;
            device.queue = this.plan(device);
            const lastTs = Date.parse(device.queue[device.queue.length - 1]!.telemetry!.ts);
            device.nextSessionAt = lastTs + gapMs + 20_000 + Math.floor(this.random() * 60_000);
          }
          const next = device.queue[0]!;
          if (Date.parse(next.telemetry!.ts) > clock) break;
          device.queue.shift();
          due.push({ device, message: next });
        }
      }
      due.sort((a, b) => Date.parse(a.message.telemetry!.ts) - Date.parse(b.message.telemetry!.ts));
      for (const { device, message } of due) this.publish(device, message);
      await sleep(Math.max(0, TICK_MS - (Date.now() - started)));
    }
  }

  private publish(device: DeviceState, message: PlannedMessage): void {
    const ts = message.telemetry!.ts;
    device.lastTs = Math.max(device.lastTs, Date.parse(ts));
    this.publishedAt.set(`${device.id}|${ts}`, Date.now());
    this.counters.published++;
    const sent = device.client!.publishAsync(message.topic, message.payload, { qos: 1 }).then(
      () => void this.counters.acked++,
      () => void this.counters.failed++,
    );
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }

  /**
   * Stops the sessions and sends each device's closing reading (a session gap plus the
   * out-of-orderness bound and a second after the latest reading of any device), then waits for
   * every PUBACK.
   */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    const t = this.options.telemetry;
    const latest = Math.max(...this.devices.map((d) => d.lastTs), this.deviceClock());
    const closingAt = latest + (t.sessionGapSeconds + t.maxOutOfOrdernessSeconds + 1) * 1000;
    for (const device of this.devices) {
      const [plan] = planTelemetry({
        deviceIds: [device.id],
        messagesPerDevice: 1,
        seed: deriveSeed(this.options.seed, device.id, 'closing'),
        startMs: closingAt,
        intervalMs: READING_SPACING_MS,
        errorRate: 0,
        definition: this.options.definition,
      });
      const message = plan![0]!;
      // The simulator adds a per-device jitter below 250 ms; the closing reading may not be later
      // than now + maxFutureSkewSeconds, which END_LAG_MS leaves room for.
      this.counters.closingReadings++;
      this.publish(device, message);
    }
    await Promise.all([...this.inFlight]);
  }

  /** Closes every device connection. */
  async close(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.all([...this.inFlight]);
    await Promise.all(
      this.devices.map((d) => (d.client ? d.client.endAsync().catch(() => undefined) : Promise.resolve())),
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
