/**
 * Every Lambda handler's bundle stays under 1 MB (the standing target): built here with esbuild and
 * the options `PlatformFunction` gives the CDK (lib/lambda/platform-function.ts), without writing.
 */
import { buildSync } from 'esbuild';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BUNDLING } from '../../lib/lambda/platform-function';

const LAMBDA = join(__dirname, '..', '..', 'lambda');
const LIMIT_BYTES = 1_000_000;

/** Every handler folder: one with an index.ts, outside lambda/shared. */
function handlerDirs(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (!statSync(path).isDirectory() || name === 'shared') return [];
    const own = readdirSync(path).includes('index.ts') ? [relative(LAMBDA, path)] : [];
    return [...own, ...handlerDirs(path)];
  });
}

const handlers = handlerDirs(LAMBDA);

test('there are handlers to check', () => {
  expect(handlers).toEqual(expect.arrayContaining(['ingest', 'kafka-acls']));
});

test.each(handlers)('lambda/%s bundles to less than 1 MB', (dir) => {
  const result = buildSync({
    entryPoints: [join(LAMBDA, dir, 'index.ts')],
    bundle: true,
    write: false,
    platform: 'node',
    minify: BUNDLING.minify,
    target: BUNDLING.target,
    format: 'cjs',
    external: [...BUNDLING.externalModules],
    mainFields: [...BUNDLING.mainFields],
    logLevel: 'silent',
  });
  const bytes = result.outputFiles[0]!.contents.length;
  expect(bytes).toBeLessThan(LIMIT_BYTES);
});
