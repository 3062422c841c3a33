import type { GatewayService } from './gateway-prefix-lists';

/**
 * The platform's network components: each gets its own security group, and reaches the brokers only
 * on the listener of the authentication it uses. MSK listener ports (TLS in transit):
 * 9098 = SASL/IAM, 9096 = SASL/SCRAM.
 */
export const MSK_PORTS = { iam: 9098, scram: 9096 } as const;
export type KafkaAuth = keyof typeof MSK_PORTS;

export interface ComponentSpec {
  readonly auth: KafkaAuth;
  readonly description: string;
  /** Gateway endpoints it reaches (HTTPS to the service's managed prefix list); none by default. */
  readonly gateways?: readonly GatewayService[];
  /**
   * Whether it reaches the interface endpoints (HTTPS): true by default. False for a component whose
   * AWS calls the service makes on its behalf (Managed Flink writes its logs, metrics, checkpoints and
   * snapshots itself; the job only talks to the brokers and the lake).
   */
  readonly interfaceEndpoints?: boolean;
}

export const COMPONENTS = {
  /** The app-event ingest Lambda (producer to events.user). */
  ingest: { auth: 'iam', description: 'app-event ingest Lambda' },
  /** The enrich Lambda. */
  enrich: { auth: 'iam', description: 'enrich Lambda', gateways: ['dynamodb'] },
  /** The aggregate Lambda. */
  aggregate: { auth: 'iam', description: 'aggregate Lambda', gateways: ['dynamodb'] },
  /** The alerting Lambda. */
  alerting: { auth: 'iam', description: 'alerting Lambda', gateways: ['dynamodb'] },
  /** The Debezium source connector's MSK Connect workers (and its database set-up function). */
  connect: { auth: 'iam', description: 'MSK Connect workers' },
  /**
   * The Snowflake sink connector's MSK Connect workers: a group of their own, because they alone
   * also reach the internet (HTTPS to Snowflake, added by the warehouse stack when an account is
   * configured).
   */
  warehouse: { auth: 'iam', description: 'Snowflake sink connector workers' },
  /**
   * The Managed Service for Apache Flink application (the sessionize job): the brokers and the lake
   * through the S3 gateway endpoint, nothing else (SigV4 for MSK IAM is signed locally; S3 uses the
   * key for SSE-KMS itself).
   */
  flink: {
    auth: 'iam',
    description: 'Managed Flink application',
    gateways: ['s3'],
    interfaceEndpoints: false,
  },
  /** Kafka admin custom resources (the SCRAM users' ACLs). */
  admin: { auth: 'iam', description: 'Kafka admin custom resources' },
  /** The IoT Core topic rule's VPC destination: the Kafka rule action cannot use IAM. */
  iotBridge: { auth: 'scram', description: 'IoT Core Kafka rule destination' },
} as const satisfies Record<string, ComponentSpec>;

export type ComponentName = keyof typeof COMPONENTS;
export const COMPONENT_NAMES = Object.keys(COMPONENTS) as ComponentName[];

/** Whether a component reaches the interface endpoints. */
export function componentUsesInterfaceEndpoints(name: ComponentName): boolean {
  const spec: ComponentSpec = COMPONENTS[name];
  return spec.interfaceEndpoints ?? true;
}

/** The gateway endpoints a component reaches (its state tables in DynamoDB, for instance). */
export function componentGateways(name: ComponentName): readonly GatewayService[] {
  const spec: ComponentSpec = COMPONENTS[name];
  return spec.gateways ?? [];
}
