/**
 * Powertools for AWS Lambda, set up once per container: structured JSON logs (Logger), CloudWatch
 * embedded-format metrics (Metrics) and X-Ray traces (Tracer). The service name comes from
 * `POWERTOOLS_SERVICE_NAME`, the log level from `POWERTOOLS_LOG_LEVEL` (or Lambda's own log level
 * setting), the metrics namespace from `POWERTOOLS_METRICS_NAMESPACE`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

import { METRICS_NAMESPACE } from './consumer/types';

/** The platform's metrics namespace when `POWERTOOLS_METRICS_NAMESPACE` is not set. */
export const DEFAULT_METRICS_NAMESPACE = METRICS_NAMESPACE;

export const logger = new Logger();

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || DEFAULT_METRICS_NAMESPACE,
});

/** Tracing is active in Lambda only (Powertools turns it off elsewhere and under tests). */
export const tracer = new Tracer();
