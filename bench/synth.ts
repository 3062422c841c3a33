/**
 * Synth speed benchmark: the median wall time of `cdk synth` of every environment (`-c env=all`)
 * divided by the median for an empty CDK app (one S3 bucket) synthesized the same way (same CLI,
 * same app command and runner, same cdk.json feature flags and CLI settings incl. the built-in
 * template validation), measured side by side, interleaved, in one run. Target: ratio <= 1.5.
 *
 *   npm run bench:synth                       # 5 runs each
 *   npm run bench:synth -- 9                  # 9 runs each
 *   npm run bench:synth -- 7 --ab 'name=node --liftoff-only -r esbuild-register bin/platform.ts'
 *                                             # also time another app command, interleaved (A/B)
 *
 * Every run is a full `cdk synth` (app, bundling, built-in validation, CLI), into bench/out. The first
 * synth of each app into an empty output directory is a warm-up and is reported but not counted:
 * it builds the Lambda bundles and stages the Debezium plugin ZIP (Maven), which later synths reuse
 * by source hash exactly as `npx cdk synth` reuses them from cdk.out. CPU is user+sys of the CLI
 * and every process it waits for (app, esbuild, Maven): on a busy machine it is the steadier figure.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const OUT = join(ROOT, 'bench', 'out');
const CDK = join(ROOT, 'node_modules', '.bin', 'cdk');
const TARGET = 1.5;

interface CdkJson {
  app: string;
  context: Record<string, unknown>;
}

interface Sample {
  wall: number; // seconds
  cpu: number; // seconds, user+sys of the child processes
}

interface Subject {
  label: string;
  cwd: string;
  args: string[];
  first?: Sample;
  samples: Sample[];
}

function parseArgs(argv: string[]): { runs: number; ab: { label: string; app: string }[] } {
  let runs = 5;
  const ab: { label: string; app: string }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--ab') {
      const spec = argv[++i] ?? '';
      const eq = spec.indexOf('=');
      if (eq < 1) throw new Error(`--ab expects 'name=app command', got '${spec}'`);
      ab.push({ label: spec.slice(0, eq), app: spec.slice(eq + 1) });
    } else if (/^\d+$/.test(arg)) runs = Number(arg);
    else throw new Error(`unknown argument '${arg}' (usage: [runs] [--ab 'name=app command']...)`);
  }
  return { runs, ab };
}

function emptyApp(cdkJson: CdkJson): string {
  const dir = join(OUT, 'empty-app');
  mkdirSync(dir, { recursive: true });
  // The same feature flags and CLI settings, none of the platform's own context.
  const flags = Object.fromEntries(
    Object.entries(cdkJson.context).filter(
      ([k]) => k.startsWith('@') || k.startsWith('aws:cdk:') || k === 'cli-telemetry',
    ),
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

/** User+sys CPU seconds of this process's waited-for children (cutime + cstime of /proc/self/stat). */
function childCpu(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command name start at field 3 (state); cutime and cstime are fields 16 and 17.
    return (Number(fields[16 - 3]) + Number(fields[17 - 3])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN; // not Linux: wall time only
  }
}

function timeSynth(subject: Subject): Sample {
  const cpu0 = childCpu();
  const start = process.hrtime.bigint();
  execFileSync(CDK, ['synth', '-q', ...subject.args], {
    cwd: subject.cwd,
    stdio: 'ignore',
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
  });
  return { wall: Number(process.hrtime.bigint() - start) / 1e9, cpu: childCpu() - cpu0 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function stats(values: number[]): string {
  const f = (x: number) => x.toFixed(2);
  return `min ${f(Math.min(...values))}  median ${f(median(values))}  max ${f(Math.max(...values))}`;
}

function main(): void {
  const { runs, ab } = parseArgs(process.argv.slice(2));
  rmSync(OUT, { recursive: true, force: true });
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as CdkJson;
  const subjects: Subject[] = [
    {
      label: 'platform, every environment',
      cwd: ROOT,
      args: ['-c', 'env=all', '-o', join(OUT, 'platform.out')],
      samples: [],
    },
    {
      label: 'empty app, one bucket',
      cwd: emptyApp(cdkJson),
      args: ['-o', join(OUT, 'empty.out')],
      samples: [],
    },
    ...ab.map((v, i) => ({
      label: `platform [${v.label}]`,
      cwd: ROOT,
      args: ['-c', 'env=all', '--app', v.app, '-o', join(OUT, `ab${i}.out`)],
      samples: [],
    })),
  ];
  // One warm-up each into an empty output directory (bundles, plugin ZIP, module caches): not counted.
  for (const s of subjects) s.first = timeSynth(s);
  for (let i = 0; i < runs; i++) {
    // Alternate the order so that neither app always runs right after the other.
    for (const s of i % 2 ? [...subjects].reverse() : subjects) s.samples.push(timeSynth(s));
  }
  const width = Math.max(...subjects.map((s) => s.label.length));
  for (const s of subjects) {
    console.log(
      `${s.label.padEnd(width)}  wall (s) ${stats(s.samples.map((x) => x.wall))} | ` +
        `cpu (s) ${stats(s.samples.map((x) => x.cpu))} | first synth ${s.first!.wall.toFixed(2)} s`,
    );
  }
  const [platform, empty] = subjects as [Subject, Subject];
  const e = median(empty.samples.map((x) => x.wall));
  const eCpu = median(empty.samples.map((x) => x.cpu));
  for (const s of [platform, ...subjects.slice(2)]) {
    const ratio = median(s.samples.map((x) => x.wall)) / e;
    const cpuRatio = median(s.samples.map((x) => x.cpu)) / eCpu;
    console.log(
      `ratio ${s.label}/empty: ${ratio.toFixed(2)} wall (target <= ${TARGET}: ${ratio <= TARGET ? 'met' : 'NOT met'}), ` +
        `${cpuRatio.toFixed(2)} cpu; ${runs} runs each, interleaved`,
    );
  }
}

main();
