/** One problem found in the configuration, with the context key it concerns. */
export interface ConfigIssue {
  /** The full context key, e.g. `topics.telemetry.raw.partitions` or `environments.prod.msk.brokerCount`. */
  readonly key: string;
  /** What is wrong and what is allowed. */
  readonly message: string;
}

/** Thrown at synth when the configuration is invalid; lists every problem, each naming its key. */
export class ConfigError extends Error {
  public readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(
      `Invalid platform configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  - ${i.key}: ${i.message}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Collects issues while parsing, so that one synth reports all of them at once. */
export class IssueCollector {
  private readonly issues: ConfigIssue[] = [];

  add(key: string, message: string): void {
    this.issues.push({ key, message });
  }

  get size(): number {
    return this.issues.length;
  }

  /** Throws a {@link ConfigError} if anything was collected. */
  throwIfAny(): void {
    if (this.issues.length > 0) throw new ConfigError(this.issues);
  }
}
