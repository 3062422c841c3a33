/**
 * The runtime properties of the sessionize job (docs/telemetry-path.md, "Runtime properties"): the
 * property group the SQL's `${name}` placeholders read. One function for the Managed Flink
 * application's EnvironmentProperties and for the local runs, which swap only the endpoints.
 * No CDK imports: the local engine harness uses it too.
 */
import type { EnvironmentConfig } from '../config/platform-config';
import { consumerGroupId } from '../events/consumer-groups';

/** The property group id the runner reads (`KinesisAnalyticsRuntime.getApplicationProperties()`). */
export const SESSIONIZE_PROPERTY_GROUP = 'sessionize';

/** The consumer name of the job: its consumer group prefix and its dead letters' `dlq.consumer`. */
export const SESSIONIZE_CONSUMER = 'sessionize';

/** MSK IAM (SigV4) client settings of aws-msk-iam-auth: present in every Kafka table. */
export const MSK_IAM_SASL = {
  mechanism: 'AWS_MSK_IAM',
  jaasConfig: 'software.amazon.msk.auth.iam.IAMLoginModule required;',
  callbackHandler: 'software.amazon.msk.auth.iam.IAMClientCallbackHandler',
} as const;

export interface SessionizeEndpoints {
  /** Kafka bootstrap servers (MSK's IAM listener on AWS, the local broker in tests). */
  readonly bootstrapServers: string;
  /** `SASL_SSL` on MSK (IAM); `PLAINTEXT` for the local broker, where the SASL settings are unused. */
  readonly securityProtocol: 'SASL_SSL' | 'PLAINTEXT';
  /** Where the session files go: `s3://<bucket>/<prefix>` on AWS, `file:///...` locally. */
  readonly lakePath: string;
}

/**
 * Every property of group `sessionize` the SQL names. Topic names and the consumer group come from
 * the catalog; the rules from `telemetry`; values are strings (Managed Flink property maps are).
 */
export function sessionizeProperties(
  config: Pick<EnvironmentConfig, 'telemetry' | 'topics'>,
  endpoints: SessionizeEndpoints,
): Record<string, string> {
  const t = config.telemetry;
  return {
    'source.topic': config.topics.telemetryRaw.name,
    'source.group-id': consumerGroupId(SESSIONIZE_CONSUMER, 'telemetryRaw'),
    'dlq.topic': config.topics.dlqSessionize.name,
    'dlq.consumer': SESSIONIZE_CONSUMER,
    // The dead-letter producer may send a record as large as the topic takes (a source record at its
    // maximum plus the dlq.* headers), above kafka-clients' 1 MiB default max.request.size.
    'dlq.max-request-bytes': String(config.topics.dlqSessionize.settings.maxMessageBytes),
    'alerts.topic': config.topics.telemetryAlerts.name,
    'kafka.bootstrap-servers': endpoints.bootstrapServers,
    'kafka.security-protocol': endpoints.securityProtocol,
    'kafka.sasl-mechanism': MSK_IAM_SASL.mechanism,
    'kafka.sasl-jaas-config': MSK_IAM_SASL.jaasConfig,
    'kafka.sasl-callback-handler': MSK_IAM_SASL.callbackHandler,
    'lake.path': endpoints.lakePath,
    'session.gap.interval': dayToSecond(t.sessionGapSeconds),
    'watermark.out-of-orderness.interval': dayToSecond(t.maxOutOfOrdernessSeconds),
    'source.idle-timeout.seconds': String(t.idleTimeoutSeconds),
    'reading.max-future-skew.seconds': String(t.maxFutureSkewSeconds),
    'dedupe.state.minutes': String(t.dedupeStateMinutes),
    'alert.temperature-high.celsius': String(t.alerts.temperatureHighC),
    'alert.battery-low.percent': String(t.alerts.batteryLowPercent),
    'alert.session-errors.readings': String(t.alerts.sessionErrorReadings),
    'alert.silence.interval': dayToSecond(t.alerts.silenceSeconds),
    'alert.silence.seconds': String(t.alerts.silenceSeconds),
  };
}

/**
 * Seconds as the text of a Flink SQL `INTERVAL '...' DAY TO SECOND` literal (`D HH:MM:SS`): Flink
 * 2.2 refuses `INTERVAL '300' SECOND` (leading precision 2) and any SECOND(p) with p > 3.
 */
export function dayToSecond(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`not a whole number of seconds: ${seconds}`);
  const pad = (n: number) => String(n).padStart(2, '0');
  const days = Math.floor(seconds / 86_400);
  const rest = seconds % 86_400;
  return `${days} ${pad(Math.floor(rest / 3600))}:${pad(Math.floor((rest % 3600) / 60))}:${pad(rest % 60)}`;
}
