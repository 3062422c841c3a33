/**
 * Rewrites the data-flow diagram in README.md (between `<!-- diagram:begin -->` and
 * `<!-- diagram:end -->`) from the synthesized default environment: `npm run diagram`.
 * `npm run diagram -- --check` only reports whether the README is current (exit code 1 if not).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diagramTemplates, readmeDiagramBlock, replaceDiagramBlock } from './diagram/index';

const README = join(__dirname, '..', 'README.md');

function main(): number {
  const readme = readFileSync(README, 'utf8');
  const next = replaceDiagramBlock(readme, readmeDiagramBlock(diagramTemplates()));
  if (next === readme) {
    console.log('README.md: the diagram is current');
    return 0;
  }
  if (process.argv.includes('--check')) {
    console.error('README.md: the diagram differs from the code; run `npm run diagram`');
    return 1;
  }
  writeFileSync(README, next);
  console.log('README.md: diagram rewritten');
  return 0;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}
