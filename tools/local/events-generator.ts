/**
 * App events at a steady rate through the ingest handler (`POST /events` batches, as app clients
 * send them), seeded: the same seed gives the same users, types, countries and event ids. Once per
 * probe interval one of the events is a latency probe: a type of its own (`latency_probe_<n>`), so
 * that its aggregate window document appears in OpenSearch exactly when that event was counted; the
 * probe is looked up by id with realtime GETs (`_mget`), not by waiting for a refresh.
 */
import { APP_EVENT_SCHEMA_VERSION, type AppEvent } from '../../lambda/shared/contract/app-event';
import { indexName } from '../../lambda/shared/search/index-name';
import { windowSeconds } from '../../lib/config/platform-config';
import { AGGREGATES_INDEX_PREFIX } from '../../lib/events/search-domain';
import { prng } from '../prng';
import type { LocalFunction } from './functions';
import { LatencySamples, seededUuid } from './stats';

const TYPES = ['page_view', 'page_view', 'page_view', 'click', 'click', 'add_to_cart', 'purchase'] as const;
const COUNTRIES = ['DE', 'FR', 'GB', 'US', 'NL', 'ES'] as const;
const CURRENCIES = ['EUR', 'EUR', 'USD', 'GBP'] as const;
/** Requests per second at most: events are batched per tick. */
const TICK_MS = 200;
/**
 * How often a request answered 503 is sent again (the same events, 1 s apart, as the ingest API's
 * `retry-after` asks): an app client that follows the contract loses nothing while Kafka is away.
 */
const MAX_RETRIES = 300;

export interface EventsGeneratorOptions {
  readonly ingest: LocalFunction;
  /** Events per second. */
  readonly rate: number;
  readonly users: number;
  readonly seed: number;
  /** The OpenSearch node (probes are read from it). */
  readonly opensearchUrl: string;
  /** The window size the probe's document is looked up in (the config's smallest). */
  readonly probeWindow: string;
  /** One probe per this many ms; 0: none. */
  readonly probeIntervalMs: number;
  /** Events per request at most (the ingest API's `maxBatchSize`): a tick's events go in several requests. */
  readonly maxBatchSize: number;
}

export interface EventsCounters {
  /** Events in requests sent. */
  sent: number;
  /** Events the handler accepted (202). */
  accepted: number;
  /** Events of requests answered otherwise (400, 413, 503), by status. */
  refused: Record<string, number>;
  requests: number;
  /** Requests sent again after a 503 (each counted in `requests` once). */
  retries: number;
  probesSent: number;
  probesSeen: number;
}

interface Probe {
  readonly index: string;
  readonly id: string;
  readonly sentAt: number;
}

export class EventsGenerator {
  public readonly counters: EventsCounters = {
    sent: 0,
    accepted: 0,
    refused: {},
    requests: 0,
    retries: 0,
    probesSent: 0,
    probesSeen: 0,
  };
  /** App event (ingest called) -> its aggregate visible in OpenSearch. */
  public readonly latency = new LatencySamples();
  private readonly random: () => number;
  private readonly pending = new Map<string, Probe>();
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private probeLoop: Promise<void> = Promise.resolve();
  private lastProbeAt = 0;
  private owed = 0;
  private seq = 0;

  constructor(private readonly options: EventsGeneratorOptions) {
    this.random = prng(options.seed);
    if (windowSeconds(options.probeWindow) === undefined)
      throw new Error(`not a window size: ${options.probeWindow}`);
  }

  get pendingProbes(): number {
    return this.pending.size;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
    this.probeLoop = this.watchProbes();
  }

  /** Stops sending (the request in flight is finished); probes are still watched until {@link close}. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Stops watching probes. */
  async close(): Promise<void> {
    this.running = false;
    this.closed = true;
    await this.loop;
    await this.probeLoop;
  }

  private closed = false;

  private event(now: number, probe: boolean): AppEvent {
    const r = this.random;
    const type = probe
      ? `latency_probe_${this.counters.probesSent + 1}`
      : TYPES[Math.floor(r() * TYPES.length)]!;
    const userId = `user-${1 + Math.floor(r() * this.options.users)}`;
    const country = COUNTRIES[Math.floor(r() * COUNTRIES.length)]!;
    const eventId = seededUuid(r);
    const properties =
      type === 'purchase'
        ? {
            amountCents: 500 + Math.floor(r() * 20_000),
            currency: CURRENCIES[Math.floor(r() * CURRENCIES.length)]!,
          }
        : { page: `/p/${Math.floor(r() * 20)}` };
    this.seq++;
    return {
      eventId,
      userId,
      type,
      occurredAt: new Date(now).toISOString(),
      country,
      properties,
      schemaVersion: APP_EVENT_SCHEMA_VERSION,
    };
  }

  private async run(): Promise<void> {
    let last = Date.now();
    while (this.running) {
      const now = Date.now();
      this.owed += ((now - last) / 1000) * this.options.rate;
      last = now;
      const count = Math.floor(this.owed);
      if (count > 0) {
        this.owed -= count;
        const probe =
          this.options.probeIntervalMs > 0 && now - this.lastProbeAt >= this.options.probeIntervalMs;
        const events = Array.from({ length: count }, (_, i) => this.event(now, probe && i === 0));
        if (probe) this.lastProbeAt = now;
        const max = this.options.maxBatchSize;
        for (let i = 0; i < events.length; i += max)
          await this.send(events.slice(i, i + max), probe && i === 0 ? events[0] : undefined);
      }
      await sleep(Math.max(0, TICK_MS - (Date.now() - now)));
    }
  }

  private async send(events: AppEvent[], probe: AppEvent | undefined): Promise<void> {
    const sentAt = Date.now();
    this.counters.sent += events.length;
    this.counters.requests++;
    const body = JSON.stringify({ events });
    let status = 'error';
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.options.ingest.invoke(body);
        status = String(answer.statusCode);
      } catch {
        status = 'invoke_failed';
      }
      if (status !== '503' || attempt >= MAX_RETRIES) break;
      this.counters.retries++;
      await sleep(1000);
    }
    if (status === '202') {
      this.counters.accepted += events.length;
      if (probe) {
        this.counters.probesSent++;
        const size = this.options.probeWindow;
        const ms = windowSeconds(size)! * 1000;
        const windowStart = new Date(Math.floor(Date.parse(probe.occurredAt) / ms) * ms).toISOString();
        const id = `${size}|${windowStart}|type|${probe.type}`;
        this.pending.set(id, { id, index: indexName(AGGREGATES_INDEX_PREFIX, size, windowStart), sentAt });
      }
    } else {
      this.counters.refused[status] = (this.counters.refused[status] ?? 0) + events.length;
    }
  }

  /** Realtime multi-GET of every pending probe's window document, every 100 ms. */
  private async watchProbes(): Promise<void> {
    while (!this.closed) {
      if (this.pending.size > 0) {
        const probes = [...this.pending.values()];
        try {
          const res = await fetch(`${this.options.opensearchUrl}/_mget?realtime=true&_source=false`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ docs: probes.map((p) => ({ _index: p.index, _id: p.id })) }),
            signal: AbortSignal.timeout(5_000),
          });
          const seenAt = Date.now();
          const body = (await res.json()) as { docs?: { _id: string; found?: boolean }[] };
          for (const doc of body.docs ?? []) {
            const probe = this.pending.get(doc._id);
            if (probe && doc.found) {
              this.latency.add(seenAt - probe.sentAt);
              this.pending.delete(doc._id);
              this.counters.probesSeen++;
            }
          }
        } catch {
          // OpenSearch busy or its index not created yet: asked again on the next round.
        }
      }
      await sleep(100);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
