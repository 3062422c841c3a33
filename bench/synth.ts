/**
 * Synth speed benchmark: the median wall time of `cdk synth` of every environment (`-c env=all`)
 * divided by the median for an empty CDK app (one S3 bucket) synthesized the same way (same CLI,
 * same TypeScript runner, same cdk.json feature flags incl. the built-in template validation),
 * measured side by side, interleaved, in one run. Target: ratio <= 1.5.
 *
 *   npm run bench:synth            # 5 runs each
 *   npm run bench:synth -- 9       # 9 runs each
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const OUT = join(ROOT, 'bench', 'out');
const CDK = join(ROOT, 'node_modules', '.bin', 'cdk');
const RUNS = Number(process.argv[2] ?? 5);
const TARGET = 1.5;

function emptyApp(): string {
  const dir = join(OUT, 'empty-app');
  mkdirSync(dir, { recursive: true });
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as {
    app: string;
    context: Record<string, unknown>;
  };
  // The same feature flags and CLI settings, none of the platform's own context.
  const flags = Object.fromEntries(
    Object.entries(cdkJson.context).filter(([k]) => k.startsWith('@') || k === 'cli-telemetry'),
  );
  writeFileSync(
    join(dir, 'cdk.json'),
    JSON.stringify(
      { app: cdkJson.app.replace('bin/platform.ts', 'app.ts'), notices: false, context: flags },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, 'app.ts'),
    [
      "import { App, Stack } from 'aws-cdk-lib';",
      "import { Bucket } from 'aws-cdk-lib/aws-s3';",
      'const app = new App();',
      "new Bucket(new Stack(app, 'Empty'), 'Bucket');",
      'app.synth();',
      '',
    ].join('\n'),
  );
  return dir;
}

function timeSynth(cwd: string, args: string[]): number {
  const start = process.hrtime.bigint();
  execFileSync(CDK, ['synth', '-q', ...args], {
    cwd,
    stdio: 'ignore',
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
  });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function main(): void {
  rmSync(OUT, { recursive: true, force: true });
  const empty = emptyApp();
  const platformTimes: number[] = [];
  const emptyTimes: number[] = [];
  // One warm-up each (module caches, JIT), not counted.
  timeSynth(ROOT, ['-c', 'env=all', '-o', join(OUT, 'platform.out')]);
  timeSynth(empty, ['-o', join(OUT, 'empty.out')]);
  for (let i = 0; i < RUNS; i++) {
    platformTimes.push(timeSynth(ROOT, ['-c', 'env=all', '-o', join(OUT, 'platform.out')]));
    emptyTimes.push(timeSynth(empty, ['-o', join(OUT, 'empty.out')]));
  }
  const p = median(platformTimes);
  const e = median(emptyTimes);
  const ratio = p / e;
  const fmt = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(2)).join(' ');
  console.log(
    `platform synth, every environment (s): ${fmt(platformTimes)}  median ${(p / 1000).toFixed(2)}`,
  );
  console.log(`empty app synth, one bucket (s):        ${fmt(emptyTimes)}  median ${(e / 1000).toFixed(2)}`);
  console.log(
    `ratio platform/empty: ${ratio.toFixed(2)} (target <= ${TARGET}: ${ratio <= TARGET ? 'met' : 'NOT met'})`,
  );
}

main();
