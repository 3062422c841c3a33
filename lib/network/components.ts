/**
 * The platform's network components: each gets its own security group, and reaches the brokers only
 * on the listener of the authentication it uses. MSK listener ports (TLS in transit):
 * 9098 = SASL/IAM, 9096 = SASL/SCRAM.
 */
export const MSK_PORTS = { iam: 9098, scram: 9096 } as const;
export type KafkaAuth = keyof typeof MSK_PORTS;

export const COMPONENTS = {
  /** The app-event ingest Lambda (producer to events.user). */
  ingest: { auth: 'iam', description: 'app-event ingest Lambda' },
  /** The enrich Lambda. */
  enrich: { auth: 'iam', description: 'enrich Lambda' },
  /** The aggregate Lambda. */
  aggregate: { auth: 'iam', description: 'aggregate Lambda' },
  /** The alerting Lambda. */
  alerting: { auth: 'iam', description: 'alerting Lambda' },
  /** MSK Connect workers (Debezium source, Snowflake sink). */
  connect: { auth: 'iam', description: 'MSK Connect workers' },
  /** The Managed Service for Apache Flink application. */
  flink: { auth: 'iam', description: 'Managed Flink application' },
  /** Kafka admin custom resources (the SCRAM users' ACLs). */
  admin: { auth: 'iam', description: 'Kafka admin custom resources' },
  /** The IoT Core topic rule's VPC destination: the Kafka rule action cannot use IAM. */
  iotBridge: { auth: 'scram', description: 'IoT Core Kafka rule destination' },
} as const satisfies Record<string, { auth: KafkaAuth; description: string }>;

export type ComponentName = keyof typeof COMPONENTS;
export const COMPONENT_NAMES = Object.keys(COMPONENTS) as ComponentName[];
