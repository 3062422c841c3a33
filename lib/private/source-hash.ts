import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Every file below `dir` (optionally only names ending in `suffix`), in a stable order. */
export function filesUnder(dir: string, suffix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) =>
      e.isDirectory()
        ? filesUnder(join(dir, e.name), suffix)
        : e.name.endsWith(suffix)
          ? [join(dir, e.name)]
          : [],
    );
}

/**
 * SHA-256 over `salt` and each file's path (relative to `root`) and content: the asset hash of a
 * build whose output depends only on these inputs, so CDK reuses the staged output while they hold.
 */
export function hashSources(root: string, files: readonly string[], salt = ''): string {
  const hash = createHash('sha256').update(salt);
  for (const file of files) hash.update(relative(root, file)).update('\0').update(readFileSync(file));
  return hash.digest('hex');
}
