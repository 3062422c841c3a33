/** One problem found in the configuration, with the context key it concerns. */
export interface ConfigIssue {
  /** The full context key, e.g. `topics.telemetry.raw.partitions` or `environments.prod.msk.brokerCount`. */
  readonly key: string;
  /** What is wrong and what is allowed. */
  readonly message: string;
  /**
   * The environments whose configuration has this problem, in the order they were read; empty for
   * keys outside any environment (`env`, `platformName`, a misspelt key).
   */
  readonly environments: readonly string[];
}

/** Where parsing code reports a problem. */
export interface IssueSink {
  add(key: string, message: string): void;
}

/**
 * One line per problem: `  - <key>: <message>`. When more than one environment was read
 * (`-c env=all`), problems of an environment name it after the key, every environment that has the
 * same problem on one line: `  - topics.events.user.partitions (dev, staging, prod): ...`.
 */
export function formatIssue(issue: ConfigIssue, showEnvironments: boolean): string {
  const where =
    showEnvironments && issue.environments.length > 0 ? ` (${issue.environments.join(', ')})` : '';
  return `  - ${issue.key}${where}: ${issue.message}`;
}

/** Thrown at synth when the configuration is invalid; lists every problem, each naming its key. */
export class ConfigError extends Error {
  public readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], showEnvironments = false) {
    super(
      `Invalid platform configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => formatIssue(i, showEnvironments)).join('\n'),
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * Collects issues while parsing, so that one synth reports all of them at once. While an
 * environment is being read ({@link setEnvironment}), every issue added is attributed to it, and the
 * same key and message found in several environments is one issue naming them all.
 */
export class IssueCollector implements IssueSink {
  private readonly issues: { key: string; message: string; environments: string[] }[] = [];
  private environment: string | undefined;
  /** Whether messages name their environments (set when more than one environment is read). */
  public showEnvironments = false;

  /** Attributes the issues added from now on to `envName` (undefined: to no environment). */
  setEnvironment(envName: string | undefined): void {
    this.environment = envName;
  }

  add(key: string, message: string): void {
    const env = this.environment;
    const same = this.issues.find((i) => i.key === key && i.message === message);
    if (same && env !== undefined && same.environments.length > 0) {
      if (!same.environments.includes(env)) same.environments.push(env);
      return;
    }
    this.issues.push({ key, message, environments: env === undefined ? [] : [env] });
  }

  get size(): number {
    return this.issues.length;
  }

  /** Throws a {@link ConfigError} if anything was collected. */
  throwIfAny(): void {
    if (this.issues.length > 0) throw new ConfigError(this.issues, this.showEnvironments);
  }
}
