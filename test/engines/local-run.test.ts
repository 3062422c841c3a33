/**
 * The whole platform end to end, on the code path of `npm run local`: `runLocal` (tools/local/run.ts)
 * starts its own engines (a broker, OpenSearch, Kafka Connect with Debezium, the Flink mini cluster,
 * dynalite, the SNS stand-in, the MQTT bridge), runs the handlers behind the event-source poller and
 * drives them with the seeded generators. The global set-up's broker is not used.
 *
 * What the run did is checked against expectations the test computes itself, not against the run's
 * own counters alone:
 * - app events: the seed's event sequence, recomputed here from the generator's documented recipe
 *   (probes off, so the n-th event depends on the seed only); the run reports how many it sent;
 * - order changes: the seed's change sequence, recomputed here the same way;
 * - readings: every message the devices published, seen by the test's own MQTT subscription.
 * After the run the test starts the run's broker and OpenSearch node again on their kept data and
 * reads every topic, every aggregate document and the lake.
 *
 * The fault case restarts the broker and then the Kafka Connect worker in the middle of a run
 * (through the run's `whileRunning` hook): the run still completes, nothing is lost, and nothing is
 * counted twice (events by eventId in the aggregates, readings by (deviceId, ts) in the lake).
 * No assertion is on wall-clock time.
 */
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { hllAdd, hllCount, hllCreate } from '../../lambda/aggregate/hyperloglog';
import { parseWindowSize, windowStart } from '../../lambda/aggregate/windows';
import { APP_EVENT_SCHEMA_VERSION } from '../../lambda/shared/contract/app-event';
import { AGGREGATES_INDEX_PREFIX } from '../../lib/events/search-domain';
import { TOPIC_SPECS, topicName, type TopicId } from '../../lib/topics/topic-specs';
import { prng } from '../../tools/prng';
import { readTopic, type TopicRecord } from '../../tools/read-topic';
import type { LocalOptions } from '../../tools/local/options';
import { formatReport, type LocalReport } from '../../tools/local/report';
import { loadLocalConfig, runLocal, type LocalEngines } from '../../tools/local/run';
import { deriveSeed, seededUuid } from '../../tools/local/stats';
import { readLakeSessions, type LakeSession } from './harness/flink';
import { ENGINES_DIR } from './harness/kafka';

jest.setTimeout(1_500_000);

const SEED = 7;
const CONFIG = loadLocalConfig('dev');
/** Short runs that still cover every path: a few hundred events, dozens of orders, sessions closed. */
const RUN = {
  durationSeconds: 25,
  eventsRate: 12,
  ordersRate: 2,
  devices: 12,
  readingsRate: 6,
  users: 20,
  seed: SEED,
  probeIntervalMs: 0,
  drainSeconds: 300,
  keep: true,
} as const;

// ---- the seed's app events, as tools/local/events-generator.ts makes them ----

const TYPES = ['page_view', 'page_view', 'page_view', 'click', 'click', 'add_to_cart', 'purchase'] as const;
const COUNTRIES = ['DE', 'FR', 'GB', 'US', 'NL', 'ES'] as const;
const CURRENCIES = ['EUR', 'EUR', 'USD', 'GBP'] as const;

interface SeededEvent {
  readonly eventId: string;
  readonly userId: string;
  readonly type: string;
  readonly country: string;
  readonly properties: Record<string, unknown>;
}

/** The first `n` events of the seed (no probes). */
function seededEvents(seed: number, users: number, n: number): SeededEvent[] {
  const r = prng(seed);
  return Array.from({ length: n }, () => {
    const type = TYPES[Math.floor(r() * TYPES.length)]!;
    const userId = `user-${1 + Math.floor(r() * users)}`;
    const country = COUNTRIES[Math.floor(r() * COUNTRIES.length)]!;
    const eventId = seededUuid(r);
    const properties =
      type === 'purchase'
        ? {
            amountCents: 500 + Math.floor(r() * 20_000),
            currency: CURRENCIES[Math.floor(r() * CURRENCIES.length)]!,
          }
        : { page: `/p/${Math.floor(r() * 20)}` };
    return { eventId, userId, type, country, properties };
  });
}

// ---- the seed's order changes, as tools/local/orders-generator.ts makes them ----

type OrderChange =
  | {
      readonly op: 'c';
      readonly id: number;
      readonly userId: string;
      readonly amountCents: number;
      readonly currency: string;
    }
  | { readonly op: 'u'; readonly id: number; readonly status: string }
  | { readonly op: 'd'; readonly id: number };

const NEXT: Readonly<Record<string, readonly string[]>> = {
  created: ['paid', 'paid', 'paid', 'cancelled'],
  paid: ['shipped', 'shipped', 'refunded'],
};

/** The first `n` changes of the seed (every statement committed). */
function seededOrderChanges(seed: number, users: number, n: number): OrderChange[] {
  const random = prng(deriveSeed(seed, 'orders'));
  let nextId = 1_000_000 + Math.floor(random() * 1_000_000) * 1000;
  const open = new Map<number, string>();
  const all: number[] = [];
  const changes: OrderChange[] = [];
  while (changes.length < n) {
    const r = random();
    if (open.size > 0 && r < 0.45) {
      const ids = [...open.keys()];
      const id = ids[Math.floor(random() * ids.length)]!;
      const choices = NEXT[open.get(id)!]!;
      const status = choices[Math.floor(random() * choices.length)]!;
      changes.push({ op: 'u', id, status });
      if (NEXT[status]) open.set(id, status);
      else open.delete(id);
    } else if (all.length > 10 && r < 0.5) {
      const i = Math.floor(random() * all.length);
      const id = all[i]!;
      all.splice(i, 1);
      open.delete(id);
      changes.push({ op: 'd', id });
    } else {
      const id = nextId++;
      const userId = `user-${1 + Math.floor(random() * users)}`;
      const amountCents = 500 + Math.floor(random() * 50_000);
      const currency = CURRENCIES[Math.floor(random() * CURRENCIES.length)]!;
      changes.push({ op: 'c', id, userId, amountCents, currency });
      open.set(id, 'created');
      all.push(id);
    }
  }
  return changes;
}

/** What cdc.orders should hold per order id, in order: `c:created`, `u:paid`, `d`, then a tombstone `null`. */
function expectedCdc(changes: readonly OrderChange[]): Map<number, (string | null)[]> {
  const status = new Map<number, string>();
  const byId = new Map<number, (string | null)[]>();
  const push = (id: number, entry: string | null) => byId.set(id, [...(byId.get(id) ?? []), entry]);
  for (const c of changes) {
    if (c.op === 'c') {
      status.set(c.id, 'created');
      push(c.id, `c:created:${c.userId}:${c.amountCents}:${c.currency}`);
    } else if (c.op === 'u') {
      status.set(c.id, c.status);
      push(c.id, `u:${c.status}`);
    } else {
      push(c.id, `d:${status.get(c.id)}`);
      push(c.id, null);
    }
  }
  return byId;
}

// ---- the devices' readings, as the test's own MQTT subscription sees them ----

interface Reading {
  readonly deviceId: string;
  readonly ts: string;
  readonly temperature: number;
  readonly humidity: number;
  readonly battery: number;
  readonly status: string;
}

interface DeviceWatch {
  readonly readings: Map<string, Reading>;
  messages(): number;
  close(): Promise<void>;
}

/**
 * Subscribes (QoS 1) to the devices' topic filter (the environment's) on the run's own Mosquitto;
 * every distinct (deviceId, ts) once.
 */
async function watchDevices(url: string): Promise<DeviceWatch> {
  const client: MqttClient = await connectAsync(url, {
    clientId: `local-run-test-${process.pid}`,
    clean: true,
  });
  const readings = new Map<string, Reading>();
  let messages = 0;
  const filter = CONFIG.iot.topicFilter;
  const deviceLevel = filter.split('/').indexOf('+');
  client.on('message', (topic, payload) => {
    messages++;
    const deviceId = topic.split('/')[deviceLevel]!;
    const p = JSON.parse(payload.toString()) as Omit<Reading, 'deviceId'>;
    readings.set(`${deviceId}|${p.ts}`, {
      deviceId,
      ts: p.ts,
      temperature: p.temperature,
      humidity: p.humidity,
      battery: p.battery,
      status: p.status,
    });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return { readings, messages: () => messages, close: () => client.endAsync(true) };
}

/** Flink session windows over the readings of each device; the last session of each device is still open. */
function expectedSessions(readings: Iterable<Reading>): { closed: Record<string, unknown>[]; open: number } {
  const gapMs = CONFIG.telemetry.sessionGapSeconds * 1000;
  const byDevice = new Map<string, Reading[]>();
  for (const r of readings) byDevice.set(r.deviceId, [...(byDevice.get(r.deviceId) ?? []), r]);
  const closed: Record<string, unknown>[] = [];
  let open = 0;
  for (const list of byDevice.values()) {
    list.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
    const sessions: Reading[][] = [];
    for (const r of list) {
      const current = sessions[sessions.length - 1];
      const last = current?.[current.length - 1];
      if (current && last && Date.parse(r.ts) < Date.parse(last.ts) + gapMs) current.push(r);
      else sessions.push([r]);
    }
    open += sessions.pop()!.length;
    for (const s of sessions) {
      const temps = s.map((r) => r.temperature);
      closed.push({
        deviceId: s[0]!.deviceId,
        sessionStart: s[0]!.ts,
        sessionEnd: new Date(Date.parse(s[s.length - 1]!.ts) + gapMs).toISOString(),
        readings: s.length,
        errorReadings: s.filter((r) => r.status === 'error').length,
        temperatureMin: Math.min(...temps),
        temperatureMax: Math.max(...temps),
        temperatureAvg: round(temps.reduce((a, b) => a + b, 0) / s.length),
        humidityAvg: round(s.reduce((a, r) => a + r.humidity, 0) / s.length),
        batteryMin: Math.min(...s.map((r) => r.battery)),
      });
    }
  }
  return { closed: sortBy(closed, (s) => `${String(s.deviceId)}|${String(s.sessionStart)}`), open };
}

const round = (x: number): number => Math.round(x * 1e6) / 1e6;
const sortBy = <T>(xs: T[], key: (x: T) => string): T[] =>
  [...xs].sort((a, b) => key(a).localeCompare(key(b)));

// ---- one observed run ----

interface Observed {
  readonly report: LocalReport;
  readonly lines: readonly string[];
  readonly topics: ReadonlyMap<string, readonly TopicRecord[]>;
  readonly documents: readonly Record<string, unknown>[];
  readonly lake: readonly LakeSession[];
  readonly readings: ReadonlyMap<string, Reading>;
  readonly mqttMessages: number;
  readonly faults: readonly string[];
}

/** Runs the platform with `runLocal`, then reads its kept broker, OpenSearch node and lake. */
async function observedRun(
  name: string,
  overrides: Partial<LocalOptions>,
  fault?: (engines: LocalEngines, note: (s: string) => void) => Promise<void>,
): Promise<Observed> {
  const dir = join(ENGINES_DIR, `local-run-test-${name}-${process.pid}`);
  const lines: string[] = [];
  const faults: string[] = [];
  const started = Date.now();
  const stamp = (s: string): string => `${((Date.now() - started) / 1000).toFixed(1)} s ${s}`;
  // The run starts a Mosquitto of its own: the test subscribes there before the devices connect.
  let watching: DeviceWatch | undefined;
  const onLine = (l: string): void => {
    lines.push(stamp(l));
    // Live, for a run that hangs or a CI log (jest prints console output only after the file).
    process.stderr.write(`[local-run ${name}] ${stamp(l)}\n`);
  };
  let engines: LocalEngines | undefined;
  const keptDirs: string[] = [];
  try {
    const report = await runLocal(
      { ...RUN, ...overrides, dir },
      {
        output: { line: onLine, progress: () => undefined },
        beforeGenerators: async (e) => {
          if (!e.mqttUrl) throw new Error('the run has no Mosquitto of its own');
          watching = await watchDevices(e.mqttUrl);
        },
        whileRunning: async (e) => {
          engines = e;
          if (fault)
            await fault(e, (s) => {
              faults.push(stamp(s));
              process.stderr.write(`[local-run ${name}] ${stamp(s)}\n`);
            });
        },
      },
    );
    for (const w of report.whereToLook) if (w.startsWith('kept: ')) keptDirs.push(resolve(w.slice(6)));
    const devices = watching;
    const log = [...lines, ...faults, ...formatReport(report)];
    if (!engines || !devices) throw new Error(`the run never ran its generators:\n${log.join('\n')}`);
    // The run stopped everything and kept its files: the broker and the node come back on them.
    await engines.kafka.restart();
    const topics = new Map<string, TopicRecord[]>();
    for (const spec of Object.values(TOPIC_SPECS))
      topics.set(
        spec.name,
        (report.topics[spec.name] ?? 0) === 0
          ? []
          : await readTopic({
              brokers: [engines.kafka.bootstrap],
              topic: spec.name,
              fromBeginning: true,
              toEnd: true,
              timeoutMs: 120_000,
              clientId: 'local-run-test',
            }),
      );
    const documents: Record<string, unknown>[] = [];
    if (engines.opensearch) {
      await engines.opensearch.start();
      const res = await fetch(`${engines.opensearch.url}/${AGGREGATES_INDEX_PREFIX}-*/_search?size=10000`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: { match_all: {} }, version: true }),
      });
      const body = (await res.json()) as {
        hits: { hits: { _id: string; _version: number; _source: Record<string, unknown> }[] };
      };
      for (const h of body.hits.hits) documents.push({ ...h._source, _id: h._id, _version: h._version });
    }
    const lake = await readLakeSessions(join(dir, 'lake'));
    console.log(`${name}: ${log.join('\n')}`);
    return {
      report,
      lines: log,
      topics,
      documents,
      lake,
      readings: devices.readings,
      mqttMessages: devices.messages(),
      faults,
    };
  } finally {
    await watching?.close().catch(() => undefined);
    await engines?.kafka.stop({ keepFiles: true });
    await engines?.opensearch?.stop();
    rmSync(dir, { recursive: true, force: true });
    // The run keeps the Connect worker's and the Flink job's directories too (`keep`).
    for (const kept of [
      engines?.connect?.dir,
      engines?.sessionize ? dirname(engines.sessionize.logFile) : undefined,
      ...keptDirs,
    ])
      if (kept) rmSync(kept, { recursive: true, force: true });
  }
}

const json = (r: TopicRecord): Record<string, unknown> =>
  JSON.parse(r.value!.toString()) as Record<string, unknown>;
const records = (o: Observed, id: TopicId): readonly TopicRecord[] => o.topics.get(topicName(id)) ?? [];
const count = (xs: readonly string[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
};

/** Every assertion on a run; returns the duplicates each topic holds (at least once delivery). */
function expectNothingLost(o: Observed): Record<string, number> {
  const { report } = o;
  const dup = (keys: readonly string[]): number => [...count(keys).values()].reduce((a, n) => a + n - 1, 0);
  // The run completed: drained, no problem, every step balances (in = out + dead-lettered).
  expect({ drained: report.drained, problems: report.problems }).toEqual({ drained: true, problems: [] });
  expect(report.steps.filter((s) => !s.balanced)).toEqual([]);
  expect(report.balanced).toBe(true);

  // App events: exactly the seed's first n events, each once on events.user.
  const sent = report.generated['app events sent']!;
  expect(sent).toBeGreaterThan(100);
  const events = seededEvents(SEED, RUN.users, sent);
  const user = records(o, 'eventsUser').map(json);
  expect(user.map((e) => e.eventId).sort()).toEqual(events.map((e) => e.eventId).sort());
  const occurredAt = new Map(user.map((e) => [e.eventId as string, e.occurredAt as string]));
  expect(
    sortBy(
      user.map(({ eventId, userId, type, country, properties, schemaVersion }) => ({
        eventId,
        userId,
        type,
        country,
        properties,
        schemaVersion,
      })),
      (e) => String(e.eventId),
    ),
  ).toEqual(
    sortBy(
      events.map((e) => ({ ...e, schemaVersion: APP_EVENT_SCHEMA_VERSION })),
      (e) => e.eventId,
    ),
  );
  // ... each of them enriched (a redelivered batch may enrich one again: at least once) ...
  const enriched = records(o, 'eventsEnriched').map(json);
  expect([...new Set(enriched.map((e) => e.eventId as string))].sort()).toEqual(
    events.map((e) => e.eventId).sort(),
  );
  // ... and counted exactly once in every window of every dimension, in OpenSearch.
  const windows = new Map<
    string,
    { events: number; users: Set<string>; revenueCents: Record<string, number> }
  >();
  for (const e of events) {
    const at = Date.parse(occurredAt.get(e.eventId)!);
    for (const size of CONFIG.events.windows) {
      const start = new Date(windowStart(at, parseWindowSize(size))).toISOString();
      for (const dimension of CONFIG.events.dimensions) {
        const value = (e as unknown as Record<string, unknown>)[dimension];
        if (typeof value !== 'string') continue;
        const key = `${size}|${start}|${dimension}|${value}`;
        const w = windows.get(key) ?? { events: 0, users: new Set<string>(), revenueCents: {} };
        w.events++;
        w.users.add(e.userId);
        if (e.type === 'purchase') {
          const { amountCents, currency } = e.properties as { amountCents: number; currency: string };
          w.revenueCents[currency] = (w.revenueCents[currency] ?? 0) + amountCents;
        }
        windows.set(key, w);
      }
    }
  }
  const expectedDocs = [...windows].map(([key, w]) => {
    const sketch = hllCreate();
    for (const u of w.users) hllAdd(sketch, u);
    return { windowKey: key, events: w.events, users: hllCount(sketch), revenueCents: w.revenueCents };
  });
  const docs = o.documents.map((d) => ({
    windowKey: d.windowKey,
    events: d.events,
    users: d.users,
    revenueCents: d.revenueCents,
  }));
  expect(sortBy(docs, (d) => String(d.windowKey))).toEqual(sortBy(expectedDocs, (d) => d.windowKey));
  // The compacted topic's latest version of each window is the document, version for version.
  const latest = new Map<string, Record<string, unknown>>();
  for (const a of records(o, 'eventsAggregates').map(json)) {
    const prev = latest.get(a.windowKey as string);
    if (!prev || (prev.version as number) < (a.version as number)) latest.set(a.windowKey as string, a);
  }
  expect(
    sortBy(
      [...latest.values()].map((a) => ({ windowKey: a.windowKey, events: a.events, version: a.version })),
      (a) => String(a.windowKey),
    ),
  ).toEqual(
    sortBy(
      o.documents.map((d) => ({ windowKey: d.windowKey, events: d.events, version: d._version })),
      (a) => String(a.windowKey),
    ),
  );

  // Order changes: exactly the seed's first n changes on cdc.orders, in order per order.
  const changes = report.generated['order changes']!;
  expect(changes).toBeGreaterThan(10);
  const cdc = new Map<number, (string | null)[]>();
  // A connector restart may repeat the records after its last committed offset: the same change
  // again (the same log position), and after a delete its tombstone again.
  const seenChanges = new Set<string>();
  const lastLsn = new Map<number, string>();
  const cdcKeys: string[] = [];
  for (const r of records(o, 'cdcOrders')) {
    const id = (JSON.parse(r.key!.toString()) as { id: number }).id;
    const v = r.value ? json(r) : null;
    const change =
      v === null ? `${id}|tombstone after ${lastLsn.get(id)}` : `${id}|${String(v.__op)}@${String(v.__lsn)}`;
    cdcKeys.push(change);
    if (v !== null) lastLsn.set(id, String(v.__lsn));
    if (seenChanges.has(change)) continue;
    seenChanges.add(change);
    const entry =
      v === null
        ? null
        : v.__op === 'c'
          ? `c:${String(v.status)}:${String(v.user_id)}:${String(v.amount_cents)}:${String(v.currency)}`
          : `${String(v.__op)}:${String(v.status)}`;
    cdc.set(id, [...(cdc.get(id) ?? []), entry]);
  }
  expect(new Map(sortBy([...cdc], ([id]) => String(id)))).toEqual(
    new Map(sortBy([...expectedCdc(seededOrderChanges(SEED, RUN.users, changes))], ([id]) => String(id))),
  );

  // Readings: every distinct (deviceId, ts) the devices published is on telemetry.raw ...
  const raw = records(o, 'telemetryRaw').map(json);
  const rawKeys = raw.map((r) => `${String(r.deviceId)}|${String(r.ts)}`);
  expect([...new Set(rawKeys)].sort()).toEqual([...o.readings.keys()].sort());
  expect(o.readings.size).toBeGreaterThan(100);
  // ... and each one in exactly one session: the closed ones in the lake, equal to the sessions
  // computed here from the readings; each device's last session (its closing reading) stays open.
  const expected = expectedSessions(o.readings.values());
  const lake = o.lake.map(
    ({ row }): Record<string, unknown> => ({
      ...row,
      temperatureAvg: round(row.temperatureAvg as number),
      humidityAvg: round(row.humidityAvg as number),
    }),
  );
  expect(sortBy(lake, (s) => `${String(s.deviceId)}|${String(s.sessionStart)}`)).toEqual(expected.closed);
  expect(expected.closed.length).toBeGreaterThan(5);
  const sessionize = report.steps.find((s) => s.step === `sessionize: ${topicName('telemetryRaw')}`);
  expect(sessionize?.outputs['in open sessions']).toBe(expected.open);

  // Nothing dead-lettered anywhere.
  const dlq = (Object.keys(TOPIC_SPECS) as TopicId[]).filter((id) => id.startsWith('dlq'));
  expect(Object.fromEntries(dlq.map((id) => [topicName(id), records(o, id).length]))).toEqual(
    Object.fromEntries(dlq.map((id) => [topicName(id), 0])),
  );

  // Every step's input is what the test expects it to be: the balances above are over these.
  const expectedCdcRecords = [...expectedCdc(seededOrderChanges(SEED, RUN.users, changes)).values()].flat()
    .length;
  expect(Object.fromEntries(report.steps.map((s) => [s.step, s.input]))).toEqual({
    'app clients -> ingest': events.length,
    [`ingest -> ${topicName('eventsUser')}`]: events.length,
    [`enrich: ${topicName('eventsUser')}`]: events.length,
    [`Debezium: ${CONFIG.cdc.tables.join(', ')} -> ${topicName('cdcOrders')}`]: expectedCdcRecords,
    [`enrich: ${topicName('cdcOrders')}`]: expectedCdcRecords + dup(cdcKeys),
    [`aggregate: ${topicName('eventsEnriched')}`]:
      events.length + dup(enriched.map((e) => e.eventId as string)),
    'aggregate -> OpenSearch': expectedDocs.length,
    'devices -> MQTT bridge': o.readings.size,
    [`sessionize: ${topicName('telemetryRaw')}`]: o.readings.size + dup(rawKeys),
    [`alerting: ${topicName('telemetryAlerts')}`]: records(o, 'telemetryAlerts').length,
  });

  return {
    [topicName('eventsUser')]: dup(user.map((e) => e.eventId as string)),
    [topicName('eventsEnriched')]: dup(enriched.map((e) => e.eventId as string)),
    [topicName('telemetryRaw')]: dup(rawKeys),
    [topicName('cdcOrders')]: dup(cdcKeys),
  };
}

test('a short seeded run: every event, order change and reading reaches its topics and sinks; every step balances', async () => {
  const o = await observedRun('plain', {});
  const duplicates = expectNothingLost(o);
  expect(duplicates).toEqual({
    [topicName('eventsUser')]: 0,
    [topicName('eventsEnriched')]: 0,
    [topicName('telemetryRaw')]: 0,
    [topicName('cdcOrders')]: 0,
  });
});

/** Records on a topic now (every partition's end minus its start). */
async function recordsOn(kafka: LocalEngines['kafka'], id: TopicId): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topicName(id));
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Waits until each topic holds at least the given number of records (bounded; names the counts on a timeout). */
async function waitForRecords(
  kafka: LocalEngines['kafka'],
  atLeast: Partial<Record<TopicId, number>>,
  timeoutMs = 180_000,
): Promise<Partial<Record<TopicId, number>>> {
  const deadline = Date.now() + timeoutMs;
  let counts: Partial<Record<TopicId, number>> = {};
  while (Date.now() < deadline) {
    counts = {};
    for (const id of Object.keys(atLeast) as TopicId[])
      counts[id] = await recordsOn(kafka, id).catch(() => -1);
    if ((Object.keys(atLeast) as TopicId[]).every((id) => (counts[id] ?? -1) >= atLeast[id]!)) return counts;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `records did not arrive within ${timeoutMs} ms: want ${JSON.stringify(atLeast)}, have ${JSON.stringify(counts)}`,
  );
}

test('the broker, then Kafka Connect, restarted mid-run: the run completes, nothing lost, nothing counted twice', async () => {
  // About as long as the faults take (about 40 s here; in CI up to 45). A run kept going past its
  // plan by the hook goes on generating, its device clocks at the wall clock's pace (readings
  // trickle, none from the future).
  const o = await observedRun('fault', { durationSeconds: 50 }, async (engines, note) => {
    // Mid-run: all three sources flowing.
    const before = await waitForRecords(engines.kafka, { eventsUser: 60, cdcOrders: 10, telemetryRaw: 20 });
    note(`restarting the broker (${JSON.stringify(before)})`);
    await engines.kafka.restart();
    const after = await waitForRecords(engines.kafka, {
      eventsUser: before.eventsUser! + 30,
      cdcOrders: before.cdcOrders! + 3,
      telemetryRaw: before.telemetryRaw! + 10,
    });
    note(`broker back, records flowing again (${JSON.stringify(after)})`);
    const connect = engines.connect!;
    note('restarting Kafka Connect');
    await connect.restart();
    const { body } = await connect.request('GET', '/connectors');
    for (const name of body as string[]) await connect.waitForRunning(name, 180_000);
    const resumed = await waitForRecords(engines.kafka, { cdcOrders: after.cdcOrders! + 3 });
    note(`Kafka Connect back, its connector running and producing (${JSON.stringify(resumed)})`);
  });
  expect(o.faults.length).toBe(4);
  // Every step balances with what its consumer was handed again counted apart.
  const duplicates = expectNothingLost(o);
  console.log(
    `fault: records delivered more than once (counted once downstream): ${JSON.stringify(duplicates)}`,
  );
});
