/**
 * The runbooks (docs/runbooks/) against the code they tell operators to run, so that a renamed
 * command, flag, script, file or context key cannot leave a runbook pointing at nothing: the index
 * and the pages agree, every operation's page uses the ops CLI, every ops CLI line uses a command
 * and only flags the CLI has (tools/ops/commands.ts), every `npm run` script exists, every
 * repository path and relative link resolves, and every `-c key=value` is a key the configuration
 * accepts (lib/config/context-keys.ts, lib/config/platform-config.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { PLATFORM_CONTEXT_KEYS } from '../../lib/config/context-keys';
import { loadEnvironments } from '../../lib/config/platform-config';
import { SETTING_NAMES, type SettingName } from '../../lib/topics/topic-settings';
import { TOPIC_IDS, TOPIC_SPECS, topicIdByName, type TopicSpec } from '../../lib/topics/topic-specs';
import { OPS_COMMANDS } from '../../tools/ops/commands';

const ROOT = join(__dirname, '..', '..');
const RUNBOOKS = join(ROOT, 'docs', 'runbooks');
const INDEX = 'README.md';

/** The operations that each have a runbook, and that each use the ops CLI. */
const OPERATIONS = [
  'tune-a-topic.md',
  'add-a-consumer.md',
  'rotate-secrets.md',
  'replay-a-dead-letter-topic.md',
  'upgrade-a-connector-plugin.md',
  'roll-out-flink-sql.md',
  'scale-brokers-and-storage.md',
] as const;

const PAGES = readdirSync(RUNBOOKS)
  .filter((f) => f.endsWith('.md') && f !== INDEX)
  .sort();
const ALL_FILES = [INDEX, ...PAGES];
const text = (file: string): string => readFileSync(join(RUNBOOKS, file), 'utf8');

const CDK_CONTEXT = (
  JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;
const ENVIRONMENT_NAMES = Object.keys(CDK_CONTEXT.environments as Record<string, unknown>);
const SCRIPTS = Object.keys(
  (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts,
);
/** The consumers with a dead-letter topic: what `dlq replay <consumer>` takes. */
const DEAD_LETTER_OWNERS = TOPIC_IDS.flatMap((id) => {
  const owner = (TOPIC_SPECS[id] as TopicSpec).deadLetterFor;
  return owner === undefined ? [] : [owner];
});

/** A placeholder an operator fills in (`<env>`, `<consumer>`, `<records/s>`). */
const isPlaceholder = (s: string): boolean => /<[^>]*>/.test(s);

/** Every line of every runbook, with where it is. */
const LINES = ALL_FILES.flatMap((file) =>
  text(file)
    .split('\n')
    .map((line, i) => ({ file, line, at: `${file}:${i + 1}` })),
);

interface OpsUse {
  readonly at: string;
  readonly words: string[];
}

/**
 * Every `npm run ops -- ...` in the runbooks, as its words: up to the end of the line, the end of
 * the inline code span, or a shell comment or operator. Optional parts in `[...]` count as given.
 */
const OPS_USES: OpsUse[] = LINES.flatMap(({ line, at }) =>
  [...line.matchAll(/npm run ops --(?=\s|$)([^`\n]*)/g)].map((m) => {
    const words: string[] = [];
    for (const raw of m[1]!.trim().split(/\s+/)) {
      if (raw === '') continue;
      if (['#', '|', '&&', ';'].includes(raw)) break;
      const word = raw
        .replace(/^\[+/, '')
        .replace(/\]+[),.:;]*$/, '')
        .replace(/[),.:;]+$/, '');
      if (word !== '') words.push(word);
    }
    return { at, words };
  }),
);

/** The ops command a use names (its words are a prefix of the use), with the words after it. */
function opsCommand(use: OpsUse): { spec: (typeof OPS_COMMANDS)[number]; rest: string[] } | undefined {
  for (const spec of OPS_COMMANDS) {
    const parts = spec.command.split(' ');
    if (parts.every((p, i) => use.words[i] === p)) return { spec, rest: use.words.slice(parts.length) };
  }
  return undefined;
}

describe('the index', () => {
  const index = text(INDEX);
  const linked = [...index.matchAll(/\]\(([^)#\s]+\.md)\)/g)]
    .map((m) => m[1]!)
    .filter((href) => !href.includes('/'));

  test('lists every runbook, and every runbook it lists exists', () => {
    expect([...new Set(linked)].sort()).toEqual(PAGES);
  });

  test('every operation has its runbook', () => {
    for (const page of OPERATIONS) expect(PAGES).toContain(page);
  });
});

describe('the ops CLI', () => {
  test('each operation runbook names at least one ops CLI command', () => {
    for (const page of OPERATIONS) {
      const used = OPS_USES.filter((u) => u.at.startsWith(`${page}:`) && opsCommand(u) !== undefined);
      expect({ page, commands: used.length > 0 }).toEqual({ page, commands: true });
    }
  });

  test('every `npm run ops -- ...` names a command of the CLI and only its flags', () => {
    expect(OPS_USES.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const use of OPS_USES) {
      const found = opsCommand(use);
      if (!found) {
        problems.push(
          `${use.at}: "${use.words.join(' ')}" names no command of ${OPS_COMMANDS.map((c) => c.command).join(', ')}`,
        );
        continue;
      }
      const { spec, rest } = found;
      for (let i = 0; i < rest.length; i++) {
        const word = rest[i]!;
        if (!word.startsWith('-')) {
          // A positional: only `dlq replay` takes one, its consumer, right after the command.
          const consumer = spec.command === 'dlq replay' && i === 0;
          if (consumer && !isPlaceholder(word) && !DEAD_LETTER_OWNERS.includes(word))
            problems.push(`${use.at}: dlq replay of "${word}", not one of ${DEAD_LETTER_OWNERS.join(', ')}`);
          continue;
        }
        const flag = word.includes('=') && word.startsWith('--') ? word.slice(0, word.indexOf('=')) : word;
        if (!spec.flags.includes(flag))
          problems.push(`${use.at}: ${spec.command} has no flag ${flag} (flags: ${spec.flags.join(', ')})`);
        // The flag's value is the next word (or after `=`); `--dry-run` and `--help` take none.
        if (!word.includes('=') && flag !== '--dry-run' && flag !== '--help') i++;
      }
    }
    expect(problems).toEqual([]);
  });
});

test('every `npm run <script>` in the runbooks is a script of package.json', () => {
  const named = LINES.flatMap(({ line, at }) =>
    [...line.matchAll(/npm run ([A-Za-z0-9:._-]+)/g)].map((m) => ({ at, script: m[1]! })),
  );
  expect(named.length).toBeGreaterThan(0);
  expect(named.filter((n) => !SCRIPTS.includes(n.script))).toEqual([]);
});

describe('files', () => {
  const ROOTS = [
    'bench',
    'bin',
    'connect',
    'docs',
    'flink-sql',
    'lambda',
    'lib',
    'schemas',
    'snowflake',
    'test',
    'tools',
  ];
  const pathPattern = new RegExp(`(?<![\\w./-])((?:${ROOTS.join('|')})/[\\w./*<>{}$…-]*)`, 'g');

  test('every repository path a runbook names exists', () => {
    const named = LINES.flatMap(({ line, at }) =>
      [...line.matchAll(pathPattern)].map((m) => ({ at, line, path: m[1]!.replace(/[.,:;]+$/, '') })),
    );
    expect(named.length).toBeGreaterThan(20);
    const missing = named
      // Globs and templates (`lambda/cdc/connector*/`, `lambda/<consumer>/index.ts`) name no one file.
      .filter(({ path }) => !/[*<>{}$…]/.test(path))
      .filter(({ path, line }) => {
        const file = join(ROOT, path.replace(/\/$/, ''));
        // `npx jest test/engines/cdc` names a test file by its path without the suffix.
        return !existsSync(file) && !(line.includes('npx jest') && existsSync(`${file}.test.ts`));
      })
      .map(({ at, path }) => `${at}: ${path}`);
    expect(missing).toEqual([]);
  });

  test('every relative link resolves (anchors aside)', () => {
    const links = LINES.flatMap(({ file, line, at }) =>
      [...line.matchAll(/\]\(([^)\s]+)\)/g)]
        .map((m) => m[1]!)
        .filter((href) => !/^[a-z]+:/.test(href) && !href.startsWith('#'))
        .map((href) => ({ at, target: normalize(join(RUNBOOKS, dirname(file), href.replace(/#.*$/, ''))) })),
    );
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((l) => !existsSync(l.target)).map((l) => `${l.at}: ${l.target}`)).toEqual([]);
  });
});

describe('context keys', () => {
  const uses = LINES.flatMap(({ line, at }) =>
    [...line.matchAll(/(?:^|[\s`])-c\s+([^\s=`]+)=([^\s`\]]+)/g)].map((m) => ({
      at,
      key: m[1]!,
      value: m[2]!,
      // The environment the same command line picks, if it names one.
      env: /-c\s+env=([a-z0-9]+)(?=[\s`\]]|$)/.exec(line)?.[1],
    })),
  );

  test('the runbooks use -c overrides', () => {
    expect(uses.length).toBeGreaterThan(0);
  });

  test('every -c key is one the configuration accepts, with a value it accepts', () => {
    const problems: string[] = [];
    for (const { at, key, value, env } of uses) {
      if (key === 'env') {
        if (!isPlaceholder(value) && ![...ENVIRONMENT_NAMES, 'all'].includes(value))
          problems.push(`${at}: env=${value} is not an environment (${ENVIRONMENT_NAMES.join(', ')}, all)`);
        continue;
      }
      if (key.startsWith('topics.')) {
        if (isPlaceholder(key)) {
          // The generic form, `-c topics.<topic>.<setting>=<value>`.
          if (!/^topics\.<[^>]+>\.<[^>]+>$/.test(key))
            problems.push(`${at}: ${key} is not topics.<topic>.<setting>`);
          continue;
        }
        const rest = key.slice('topics.'.length);
        const topic = rest.slice(0, rest.lastIndexOf('.'));
        const setting = rest.slice(rest.lastIndexOf('.') + 1);
        if (!topicIdByName(topic)) problems.push(`${at}: ${key} names no catalog topic`);
        else if (!SETTING_NAMES.includes(setting as SettingName))
          problems.push(`${at}: ${key} names no setting`);
      } else if (
        !PLATFORM_CONTEXT_KEYS.includes(key as (typeof PLATFORM_CONTEXT_KEYS)[number]) ||
        key === 'environments'
      ) {
        // `environments` is read whole from cdk.json; a -c value would replace every environment.
        problems.push(`${at}: -c ${key} is not a key the platform takes on the command line`);
        continue;
      }
      if (isPlaceholder(value)) continue;
      // The value as the CDK CLI passes it (a string), in the command's environment (or all of them).
      try {
        loadEnvironments({ ...CDK_CONTEXT, env: env ?? 'all', [key]: value });
      } catch (err) {
        problems.push(`${at}: -c ${key}=${value}: ${(err as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
