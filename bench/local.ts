/**
 * The whole local pipeline in one run: `runLocal` (tools/local/run.ts, the code path of `npm run
 * local`) with every source, then its throughput and its end-to-end latency percentiles, and the
 * target: app event -> aggregate in OpenSearch p95 at most the two hops' configured batching windows
 * (the enrich and aggregate event source mappings' `maxBatchingWindowSeconds`, from cdk.json) plus 1 s.
 *
 *   npm run bench:local                                   # 60 s at the bench's rates below
 *   npm run bench:local -- --duration 120 --events-rate 80 --readings-rate 60
 *   npm run bench:local -- -c env=prod                    # prod's configuration (windows, batching)
 *
 * Takes every option of `npm run local` (tools/local/options.ts); the run's directory defaults to
 * .engines/bench-local-<time> so that a bench never shares one with `npm run local`.
 *
 * Throughput: records offered per second while the generators ran (events accepted by the ingest
 * handler, committed order changes, readings acknowledged over MQTT), and records per second through
 * each consumer step from the generators' start until the drain ended (the pipeline kept up when the
 * drain is short). Latency probes: one app event per `--probe-interval` ms with a type of its own,
 * found by realtime GETs of its window document. The latencies come from the run's report.
 * Never fails on time; exits non-zero when the run reports a problem or a step that does not balance.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ENGINES_DIR } from '../test/engines/harness/kafka';
import { parseLocalArgs, USAGE, type LocalOptions } from '../tools/local/options';
import { formatMapping, formatReport, type LocalReport } from '../tools/local/report';
import { loadLocalConfig, runLocal } from '../tools/local/run';
import type { Percentiles } from '../tools/local/stats';

/** The bench's load unless given: more than `npm run local`'s defaults, within what 2 cores keep up with. */
const BENCH_DEFAULTS: Partial<LocalOptions> = {
  durationSeconds: 60,
  eventsRate: 40,
  ordersRate: 4,
  devices: 100,
  readingsRate: 40,
};

const FLAGS: Readonly<Record<string, keyof LocalOptions>> = {
  '--duration': 'durationSeconds',
  '--events-rate': 'eventsRate',
  '--orders-rate': 'ordersRate',
  '--devices': 'devices',
  '--readings-rate': 'readingsRate',
  '--dir': 'dir',
};

function options(argv: readonly string[]): LocalOptions | 'help' {
  const parsed = parseLocalArgs(argv);
  if (parsed === 'help') return parsed;
  const given = new Set(argv.map((a) => a.split('=')[0]!));
  const merged: Record<string, unknown> = { ...parsed };
  for (const [flag, key] of Object.entries(FLAGS))
    if (!given.has(flag)) merged[key] = BENCH_DEFAULTS[key] ?? merged[key];
  if (!given.has('--dir')) merged.dir = join(ENGINES_DIR, `bench-local-${Date.now()}`);
  return { ...parsed, ...(merged as Partial<LocalOptions>) };
}

const ms = (v: number): string => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const rate = (n: number, seconds: number): string => (seconds > 0 ? (n / seconds).toFixed(1) : '-');

function percentileLine(name: string, p: Percentiles | undefined): string {
  return p
    ? `  ${name.padEnd(36)} p50 ${ms(p.p50).padStart(7)}  p95 ${ms(p.p95).padStart(7)}  p99 ${ms(p.p99).padStart(7)}  max ${ms(p.max).padStart(7)}  (${p.count} samples)`
    : `  ${name.padEnd(36)} no samples`;
}

function summary(report: LocalReport, opts: LocalOptions): string[] {
  const config = loadLocalConfig(opts.envName, opts.context);
  const lines: string[] = [];
  const gen = report.generateSeconds;
  const through = report.generateSeconds + report.drainSeconds;
  lines.push('');
  lines.push(
    `=== bench:local: env ${report.envName}, seed ${report.seed}; generating ${gen.toFixed(1)} s, drain ${report.drainSeconds.toFixed(1)} s${report.drained ? '' : ' (time limit reached)'}; start-up ${report.startupSeconds.toFixed(1)} s; load average at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} ===`,
  );
  lines.push('offered load (per second of generating):');
  let offered = 0;
  for (const [name, n] of Object.entries(report.generated)) {
    offered += n;
    lines.push(`  ${name.padEnd(36)} ${String(n).padStart(8)}  ${rate(n, gen).padStart(8)}/s`);
  }
  lines.push(
    `  ${'all sources'.padEnd(36)} ${String(offered).padStart(8)}  ${rate(offered, gen).padStart(8)}/s`,
  );
  lines.push(
    'throughput per step (records in, per second from the generators’ start to the end of the drain):',
  );
  let processed = 0;
  for (const s of report.steps) {
    processed += s.input;
    lines.push(
      `  ${s.step.padEnd(36)} ${String(s.input).padStart(8)}  ${rate(s.input, through).padStart(8)}/s`,
    );
  }
  lines.push(
    `  ${'every step together'.padEnd(36)} ${String(processed).padStart(8)}  ${rate(processed, through).padStart(8)}/s`,
  );
  lines.push(
    `  ${'whole pipeline: source records to sinks'.padEnd(36)} ${String(offered).padStart(8)}  ${rate(offered, through).padStart(8)}/s (all consumed and balanced: ${report.drained && report.balanced ? 'yes' : 'NO'})`,
  );
  lines.push('consumer mappings (a function busy near 100% of the run cannot keep up: its lag grows):');
  for (const m of report.mappings) lines.push(`  ${formatMapping(m, through)}`);
  lines.push('end-to-end latency:');
  lines.push(percentileLine('app event -> aggregate in OpenSearch', report.latency.appEventToOpenSearch));
  lines.push(percentileLine('telemetry -> session in the lake', report.latency.telemetryToLake));
  lines.push(percentileLine('reading -> alert (SNS)', report.latency.readingToAlert));
  const enrich = config.events.consumers.enrich.maxBatchingWindowSeconds;
  const aggregate = config.events.consumers.aggregate.maxBatchingWindowSeconds;
  const targetMs = (enrich + aggregate + 1) * 1000;
  const p95 = report.latency.appEventToOpenSearch?.p95;
  lines.push(
    p95 === undefined
      ? `target: event -> aggregate p95 <= ${targetMs} ms (enrich window ${enrich} s + aggregate window ${aggregate} s + 1 s): NO SAMPLES`
      : `target: event -> aggregate p95 ${Math.round(p95)} ms <= ${targetMs} ms (enrich window ${enrich} s + aggregate window ${aggregate} s + 1 s): ${p95 <= targetMs ? 'met' : 'NOT met'}`,
  );
  lines.push(report.balanced ? 'every step balances' : 'NOT BALANCED (see the report above)');
  return lines;
}

async function main(argv: readonly string[]): Promise<number> {
  let opts: LocalOptions | 'help';
  try {
    opts = options(argv);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE.replace('npm run local', 'npm run bench:local')}`);
    return 2;
  }
  if (opts === 'help') {
    console.log(USAGE.replace('npm run local', 'npm run bench:local'));
    return 0;
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const t0 = Date.now();
  const stamp = (): string => `${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s`;
  let last = 0;
  const report = await runLocal(opts, {
    signal: abort.signal,
    output: {
      line: (text) => console.log(`${stamp()} ${text}`),
      progress: (p) => {
        if (Date.now() - last < 10_000) return;
        last = Date.now();
        const lag = p.lags.map((l) => `${l.group} ${l.lag}`).join(', ');
        console.log(
          `${stamp()} ${p.phase} ${p.elapsedSeconds.toFixed(0)}/${p.plannedSeconds} s; lag: ${lag}`,
        );
      },
    },
  });
  for (const line of formatReport(report)) console.log(line);
  for (const line of summary(report, opts)) console.log(line);
  return report.balanced && report.problems.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
