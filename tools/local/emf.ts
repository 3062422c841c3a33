/**
 * The CloudWatch embedded metric format (EMF) lines a function writes to stdout (Powertools
 * Metrics), summed per metric name: what CloudWatch would count for the local run. A line that is
 * not EMF (a log line) is ignored.
 */
export type MetricTotals = Record<string, number>;

interface EmfDirective {
  readonly Metrics?: readonly { readonly Name?: unknown }[];
}

/** Adds the metrics of one stdout line to `totals`; returns true when the line was EMF. */
export function addEmfLine(line: string, totals: MetricTotals): boolean {
  const text = line.trim();
  if (!text.startsWith('{') || !text.includes('"_aws"')) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof parsed !== 'object' || parsed === null) return false;
  const record = parsed as Record<string, unknown>;
  const aws = record._aws as { CloudWatchMetrics?: readonly EmfDirective[] } | undefined;
  const directives: unknown = aws?.CloudWatchMetrics;
  if (!Array.isArray(directives)) return false;
  for (const directive of directives as readonly EmfDirective[]) {
    const metrics: unknown = directive.Metrics;
    for (const metric of Array.isArray(metrics) ? (metrics as readonly { readonly Name?: unknown }[]) : []) {
      const name = metric.Name;
      if (typeof name !== 'string') continue;
      const value = record[name];
      const values = Array.isArray(value) ? (value as unknown[]) : [value];
      for (const v of values) {
        if (typeof v === 'number' && Number.isFinite(v)) totals[name] = (totals[name] ?? 0) + v;
      }
    }
  }
  return true;
}
