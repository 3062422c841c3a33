/**
 * Which context keys the platform reads, and refusal of keys that look like a misspelling of one.
 *
 * The context also holds what the CDK, the CLI and libraries put there (`aws:cdk:*`, `@aws-cdk/*`
 * feature flags, `cli-telemetry`, `aws-cdk:enableDiffNoFail`, cached lookups of cdk.context.json,
 * ...). Those are none of the platform's business and always pass. Only a key that is a near miss of
 * the platform's own (see suggest.ts) fails synth, because `-c topic.telemetry.raw.partitions=0`
 * would otherwise be ignored without a word:
 *   - the whole key is a near miss of `env`, `platformName`, `environments` or `topics`
 *     (`platformname`, `Env`, `enviroments`, `-c topics=...`);
 *   - the part before the first `.`, `:`, `/` or `_` is one (`topic.telemetry.raw.partitions`,
 *     `topcs.…`, `Topics.…`, `topics:…`, `topics_…`) and the key is not a `topics.` override;
 *   - a plain key of the platform with a tail (`environments.prod.msk.brokerCount`, `env.prod`):
 *     `-c` replaces whole keys, so only `topics.<topic>.<setting>` can change one value.
 * Keys that start with `topics.` are checked where they are used (topic-settings.ts).
 */
import type { IssueSink } from './errors';
import { closestName } from './suggest';

/** Top-level context keys the platform reads (add a new one here, or it may be refused as a typo). */
export const PLATFORM_CONTEXT_KEYS = ['env', 'platformName', 'environments'] as const;

/** The root of command-line topic overrides: `topics.<topic name>.<setting>`. */
export const TOPIC_OVERRIDES_ROOT = 'topics';

const ROOTS: readonly string[] = [...PLATFORM_CONTEXT_KEYS, TOPIC_OVERRIDES_ROOT];

/**
 * Reports every context key that looks like a misspelt platform key, with a suggestion.
 * `suggestOverride` turns the tail of a misspelt `topics` key into the override it most likely meant.
 */
export function checkContextKeys(
  context: Readonly<Record<string, unknown>>,
  issues: IssueSink,
  suggestOverride: (tail: string) => string,
): void {
  for (const key of Object.keys(context)) {
    if ((PLATFORM_CONTEXT_KEYS as readonly string[]).includes(key)) continue;
    if (key.startsWith(`${TOPIC_OVERRIDES_ROOT}.`)) continue;
    const message = misspeltKeyMessage(key, suggestOverride);
    if (message) issues.add(key, message);
  }
}

function misspeltKeyMessage(key: string, suggestOverride: (tail: string) => string): string | undefined {
  const sep = /[.:/_]/.exec(key);
  const head = sep ? key.slice(0, sep.index) : key;
  const tail = sep ? key.slice(sep.index + 1) : '';
  const headRoot = closestName(head, ROOTS);
  // `platform_name`, `platform-name.x`: the separator is inside the name, so compare the whole key.
  const root = headRoot ?? closestName(key, ROOTS);
  if (!root) return undefined;
  const withTail = headRoot !== undefined && tail !== '';

  if (root === TOPIC_OVERRIDES_ROOT) {
    if (!withTail)
      return `not a context key of the platform; a topic setting is overridden with -c topics.<topic name>.<setting>=<value>, e.g. ${suggestOverride('telemetry.raw.partitions')}`;
    return `not a context key of the platform; did you mean ${suggestOverride(tail)}?`;
  }
  if (withTail && head === root)
    return `-c replaces a whole context key and ${root} is read whole: change ${key} in cdk.json (only topic settings have per-value overrides: -c topics.<topic name>.<setting>=<value>)`;
  return `not a context key of the platform; did you mean ${root}?`;
}
