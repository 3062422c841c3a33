/**
 * What a local run reports: live progress while it runs, and at the end the counts per topic and
 * sink, the balance of every step (in = out + dead-lettered, with what else the step accounts for),
 * the end-to-end latencies and where to look. Plain data, so that a test or a bench can assert on it;
 * the formatters turn it into terminal text.
 */
import type { Percentiles } from './stats';

export type SourceName = 'events' | 'orders' | 'telemetry';
export const SOURCE_NAMES: readonly SourceName[] = ['events', 'orders', 'telemetry'];

export type Phase = 'starting' | 'running' | 'draining' | 'stopping';

export interface ProgressSnapshot {
  readonly phase: Phase;
  /** Seconds since the generators started (0 before). */
  readonly elapsedSeconds: number;
  readonly plannedSeconds: number;
  /** Records per catalog topic so far. */
  readonly topics: readonly { readonly topic: string; readonly records: number }[];
  /** Records not yet committed, per consumer group (the Lambda mappings' and the Flink job's). */
  readonly lags: readonly { readonly group: string; readonly lag: number }[];
  readonly generated: Readonly<Record<string, number>>;
  readonly sessionsClosed?: number;
  readonly lakeFiles?: number;
  readonly alertsRaised?: number;
  readonly alertsPublished?: number;
}

/** One step of the platform: what went in, where it went. */
export interface StepBalance {
  readonly step: string;
  readonly input: number;
  /** What the step passed on or applied, by kind. */
  readonly outputs: Readonly<Record<string, number>>;
  readonly deadLettered: number;
  /**
   * Records the step's consumer was handed again (at least once: a commit lost to a broker restart,
   * a rebalance, a retried invocation). The handler sees them again, so they are in its outputs
   * (mostly as duplicates dropped or older changes skipped) but not in `input`.
   */
  readonly redelivered?: number;
  /** input + redelivered === sum(outputs) + deadLettered */
  readonly balanced: boolean;
  /** How the numbers were obtained, or why they cannot balance. */
  readonly note?: string;
}

export interface LatencyReport {
  /** App event (ingest called) -> its aggregate window in OpenSearch (realtime GET). */
  readonly appEventToOpenSearch?: Percentiles;
  /** A session's last reading published over MQTT -> the session's file committed in the lake. */
  readonly telemetryToLake?: Percentiles;
  /** A hot reading published over MQTT -> its temperature_high alert published to SNS. */
  readonly readingToAlert?: Percentiles;
  /** What each latency includes. */
  readonly notes: readonly string[];
}

/** One event source mapping of the run, as its poller counted it. */
export interface MappingStats {
  readonly function: string;
  readonly topic: string;
  readonly batches: number;
  /** Records handed to the function, redeliveries included. */
  readonly records: number;
  readonly invocations: number;
  readonly failures: number;
  /** Wall time in the function's invocations, in ms. */
  readonly handlerMs: number;
}

export interface LocalReport {
  readonly envName: string;
  readonly seed: number;
  readonly sources: readonly SourceName[];
  /** Ctrl-C (or an abort) ended the generators before the planned duration. */
  readonly interrupted: boolean;
  readonly startupSeconds: number;
  readonly generateSeconds: number;
  readonly drainSeconds: number;
  /** The drain ended because everything was consumed (false: its time limit). */
  readonly drained: boolean;
  readonly wallSeconds: number;
  /** Records per catalog topic written during the run. */
  readonly topics: Readonly<Record<string, number>>;
  /** Counts per sink. */
  readonly sinks: Readonly<Record<string, number | string>>;
  readonly generated: Readonly<Record<string, number>>;
  readonly steps: readonly StepBalance[];
  /** The consumers' mappings: batches, records and the time their function took. */
  readonly mappings: readonly MappingStats[];
  /** Every step balances. */
  readonly balanced: boolean;
  readonly latency: LatencyReport;
  readonly whereToLook: readonly string[];
  readonly problems: readonly string[];
}

/** A step's balance from its numbers. */
export function balance(
  step: string,
  input: number,
  outputs: Record<string, number>,
  deadLettered: number,
  note?: string,
  redelivered = 0,
): StepBalance {
  const out = Object.values(outputs).reduce((a, b) => a + b, 0);
  return {
    step,
    input,
    outputs,
    deadLettered,
    ...(redelivered > 0 ? { redelivered } : {}),
    balanced: input + redelivered === out + deadLettered,
    ...(note ? { note } : {}),
  };
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const num = (n: number): string => n.toLocaleString('en-US');

/** The live block: one line per topic group, lags, sessions and alerts. */
export function formatProgress(p: ProgressSnapshot): string[] {
  const head =
    p.phase === 'running'
      ? `running ${p.elapsedSeconds.toFixed(0)}/${p.plannedSeconds} s`
      : `${p.phase}${p.elapsedSeconds > 0 ? ` (${p.elapsedSeconds.toFixed(0)} s)` : ''}`;
  const generated = Object.entries(p.generated)
    .map(([k, v]) => `${k} ${num(v)}`)
    .join(', ');
  const topics = p.topics.filter((t) => t.records > 0).map((t) => `${t.topic} ${num(t.records)}`);
  const lines = [`[local] ${head}${generated ? ` | generated: ${generated}` : ''}`];
  for (let i = 0; i < topics.length; i += 4) lines.push(`  topics: ${topics.slice(i, i + 4).join('  ')}`);
  if (p.lags.length > 0) lines.push(`  lag:    ${p.lags.map((l) => `${l.group} ${num(l.lag)}`).join('  ')}`);
  const telemetry = [
    p.sessionsClosed !== undefined ? `sessions closed ${num(p.sessionsClosed)}` : undefined,
    p.lakeFiles !== undefined ? `lake files ${num(p.lakeFiles)}` : undefined,
    p.alertsRaised !== undefined ? `alerts raised ${num(p.alertsRaised)}` : undefined,
    p.alertsPublished !== undefined ? `published to SNS ${num(p.alertsPublished)}` : undefined,
  ].filter((s): s is string => s !== undefined);
  if (telemetry.length > 0) lines.push(`  ${telemetry.join('  ')}`);
  return lines;
}

/** The progress as one line (for output that is not a terminal). */
export function formatProgressLine(p: ProgressSnapshot): string {
  return formatProgress(p)
    .map((l) => l.trim())
    .join(' | ');
}

function percentiles(name: string, p: Percentiles | undefined): string {
  return p
    ? `  ${pad(name, 34)} p50 ${ms(p.p50)}  p95 ${ms(p.p95)}  p99 ${ms(p.p99)}  max ${ms(p.max)}  (${p.count} samples)`
    : `  ${pad(name, 34)} no samples`;
}

function ms(v: number): string {
  return v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;
}

/** The final report as text. */
export function formatReport(r: LocalReport): string[] {
  const lines: string[] = [];
  lines.push('');
  lines.push(
    `=== local run report: env ${r.envName}, seed ${r.seed}, sources ${r.sources.join(',')}${r.interrupted ? ' (interrupted)' : ''} ===`,
  );
  lines.push(
    `start-up ${r.startupSeconds.toFixed(1)} s, generating ${r.generateSeconds.toFixed(1)} s, drain ${r.drainSeconds.toFixed(1)} s${r.drained ? '' : ' (time limit reached)'}, wall ${r.wallSeconds.toFixed(1)} s`,
  );
  lines.push('generated:');
  for (const [k, v] of Object.entries(r.generated)) lines.push(`  ${pad(k, 34)} ${num(v)}`);
  lines.push('records per topic:');
  for (const [topic, n] of Object.entries(r.topics)) lines.push(`  ${pad(topic, 34)} ${num(n)}`);
  lines.push('sinks:');
  for (const [sink, n] of Object.entries(r.sinks))
    lines.push(`  ${pad(sink, 34)} ${typeof n === 'number' ? num(n) : n}`);
  lines.push('balance per step (in [+ delivered again] = out + dead-lettered):');
  for (const s of r.steps) {
    const outs = Object.entries(s.outputs)
      .map(([k, v]) => `${k} ${num(v)}`)
      .join(' + ');
    const out = Object.values(s.outputs).reduce((a, b) => a + b, 0);
    const again = s.redelivered ?? 0;
    const verdict = s.balanced
      ? 'ok'
      : `MISMATCH: ${num(s.input + again)} in, ${num(out + s.deadLettered)} accounted for`;
    const input = again > 0 ? `${num(s.input)} + ${num(again)} delivered again` : num(s.input);
    lines.push(
      `  ${pad(s.step, 34)} ${input} = ${outs || '0'} + dead-lettered ${num(s.deadLettered)}  ${verdict}`,
    );
    if (s.note) lines.push(`  ${pad('', 34)} (${s.note})`);
  }
  lines.push(r.balanced ? 'every step balances' : 'NOT BALANCED: see the MISMATCH lines above');
  if (r.mappings.length > 0) {
    lines.push('consumer mappings (batches, records per batch, time per invocation):');
    for (const m of r.mappings) lines.push(`  ${formatMapping(m, r.generateSeconds + r.drainSeconds)}`);
  }
  lines.push('end-to-end latency:');
  lines.push(percentiles('app event -> aggregate in OpenSearch', r.latency.appEventToOpenSearch));
  lines.push(percentiles('telemetry -> session in the lake', r.latency.telemetryToLake));
  lines.push(percentiles('reading -> alert (SNS)', r.latency.readingToAlert));
  for (const note of r.latency.notes) lines.push(`  - ${note}`);
  if (r.problems.length > 0) {
    lines.push('problems:');
    for (const p of r.problems) lines.push(`  - ${p}`);
  }
  lines.push('where to look:');
  for (const w of r.whereToLook) lines.push(`  ${w}`);
  return lines;
}

/**
 * A mapping's line: its batches, their mean size, the mean invocation time and the share of the
 * run its function was busy (near 100%: the mapping cannot keep up, and its lag grows).
 */
export function formatMapping(m: MappingStats, seconds: number): string {
  const perBatch = m.batches > 0 ? (m.records / m.batches).toFixed(1) : '-';
  const perInvocation = m.invocations > 0 ? `${Math.round(m.handlerMs / m.invocations)} ms` : '-';
  const busy = seconds > 0 ? `${Math.round(m.handlerMs / 10 / seconds)}%` : '-';
  return (
    `${pad(`${m.function} <- ${m.topic}`, 34)} ${num(m.batches)} batches, ${perBatch} records per batch, ` +
    `${perInvocation} per invocation${m.failures > 0 ? ` (${num(m.failures)} failed)` : ''}, busy ${busy} of the run`
  );
}
