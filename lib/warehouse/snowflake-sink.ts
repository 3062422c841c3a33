import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kafkaconnect from 'aws-cdk-lib/aws-kafkaconnect';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ConnectorResource } from '../cdc/connector-resource';
import {
  KAFKA_CONNECT_VERSION,
  renderWorkerConfig,
  SECRETS_MANAGER_CONFIG_PROVIDER_CLASS,
} from '../cdc/debezium-config';
import { secretNameFromArn } from '../cdc/orders-cdc';
import { grantMskConnectInternals } from '../connect/msk-connect-plugin';
import {
  connectorExecutionRole,
  connectorWiring,
  workerConfiguration,
  type MskConnectorProps,
} from '../connect/msk-connector-parts';
import { grantSecretRead } from '../security/secret-access';
import { renderSnowflakeSinkConfig, snowflakeSinkOptions, SNOWFLAKE_CONNECTOR } from './snowflake-config';
import { SnowflakePlugin } from './snowflake-plugin';

/** The workers wear the network's `warehouse` group (the only one with HTTPS to the internet). */
export type SnowflakeSinkProps = MskConnectorProps;

/**
 * The warehouse leg: the Snowflake Kafka connector on MSK Connect, landing the catalog's
 * events.aggregates in Snowflake with Snowpipe Streaming (docs/warehouse.md).
 *
 * - Plugin: the connector's pinned Maven coordinates with the platform's Secrets Manager config
 *   provider (snowflake-plugin.ts), built only here, i.e. only for an environment with an account.
 * - Key pair: read from the configured secret by the config provider when a task starts; the
 *   connector configuration holds `${secretsmanager:<name>:privateKey}` placeholders only.
 * - Workers: autoscaled between the environment's bounds on CPU; IAM and TLS to the brokers; HTTPS
 *   to Snowflake through the NAT gateways (the only internet egress of the platform's workers).
 * - Role: read events.aggregates, write its dead-letter topic, MSK Connect's internal topics and
 *   groups (its consumer group `connect-<connector>` among them), read the secret (and decrypt with
 *   its key when configured).
 *
 * The connector's name is fixed per environment (it names the Snowflake channels, whose offset
 * tokens let a replacement resume where the old connector stopped); the connector resource
 * replaces it delete-then-create under that name (connector-resource.ts).
 */
export class SnowflakeSink extends Construct {
  public readonly connector: ConnectorResource;
  /** The connector's name (its metrics' `ConnectorName`). */
  public readonly connectorName: string;
  /** The tasks it runs (`tasks.max`). */
  public readonly tasksMax: number;
  public readonly workerConfiguration: kafkaconnect.CfnWorkerConfiguration;
  public readonly role: iam.Role;
  public readonly plugin: SnowflakePlugin;
  public readonly logGroup: logs.LogGroup;
  public readonly connectorConfiguration: Record<string, string>;

  constructor(scope: Construct, id: string, props: SnowflakeSinkProps) {
    super(scope, id);
    const { config, catalog, cluster } = props;
    const account = config.warehouse.snowflake;
    if (!account) throw new Error(`environments.${config.envName}.warehouse.snowflake is not configured`);

    const secret = secretsmanager.Secret.fromSecretCompleteArn(
      this,
      'KeyPairSecret',
      account.privateKeySecretArn,
    );
    const secretKey = account.privateKeySecretKeyArn
      ? kms.Key.fromKeyArn(this, 'KeyPairSecretKey', account.privateKeySecretKeyArn)
      : undefined;
    this.connectorConfiguration = renderSnowflakeSinkConfig(
      snowflakeSinkOptions(config, secretNameFromArn(account.privateKeySecretArn)),
    );
    const name = this.connectorConfiguration.name!;
    this.connectorName = name;
    this.tasksMax = Number(this.connectorConfiguration['tasks.max']);

    this.plugin = new SnowflakePlugin(this, 'Snowflake', {
      platformName: config.platformName,
      envName: config.envName,
    });

    // A sink keeps no source offsets: its progress is its consumer group's (and the channels' offset
    // tokens in Snowflake), so the worker configuration names no offsets topic.
    this.workerConfiguration = workerConfiguration(this, 'WorkerConfiguration', {
      namePrefix: `${name}-worker`,
      description: 'JSON converters without schemas; Secrets Manager config provider',
      properties: renderWorkerConfig({
        secretsProvider: { className: SECRETS_MANAGER_CONFIG_PROVIDER_CLASS, params: { region: Aws.REGION } },
      }),
    });

    this.role = connectorExecutionRole(
      this,
      'Role',
      `${name}: MSK (IAM) for events.aggregates, its dead-letter topic and internal topics; the Snowflake key pair`,
    );
    // The consumer group (`connect-<connector name>`) is one of MSK Connect's `connect-*` groups that
    // grantMskConnectInternals grants; a second grant on it would add nothing. The dead-letter grant
    // brings the cluster's Connect and idempotent writes.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
        resources: [catalog.topic('eventsAggregates').arn],
      }),
    );
    catalog.grantProduce('dlqSnowflakeSink', this.role);
    grantMskConnectInternals(this.role, cluster);
    grantSecretRead(secret, this.role, secretKey);

    // HTTPS to the Snowflake account through the NAT gateways (Snowflake's endpoints are not in the
    // VPC; PrivateLink to a Business Critical account is the alternative, docs/warehouse.md). Declared
    // here, so that environments without an account have no internet egress from any worker.
    new ec2.CfnSecurityGroupEgress(this, 'ToSnowflake', {
      groupId: props.securityGroup.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      cidrIp: '0.0.0.0/0',
      description: 'to Snowflake (HTTPS through NAT)',
    });

    this.logGroup = new logs.LogGroup(this, 'WorkerLogs', {
      retention: config.warehouse.logRetentionDays as logs.RetentionDays,
      removalPolicy: config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });

    const c = config.warehouse.connector;
    this.connector = new ConnectorResource(this, 'Connector', {
      config,
      executionRole: this.role,
      spec: {
        connectorName: name,
        connectorDescription: `Snowflake Kafka connector ${SNOWFLAKE_CONNECTOR.version}: ${catalog.name('eventsAggregates')} -> ${account.database}.${account.schema}`,
        kafkaConnectVersion: KAFKA_CONNECT_VERSION,
        capacity: {
          autoScaling: {
            mcuCount: c.mcuCount,
            minWorkerCount: c.minWorkers,
            maxWorkerCount: c.maxWorkers,
            scaleInPolicy: { cpuUtilizationPercentage: c.scaleInCpuPercent },
            scaleOutPolicy: { cpuUtilizationPercentage: c.scaleOutCpuPercent },
          },
        },
        connectorConfiguration: this.connectorConfiguration,
        ...connectorWiring({
          network: props,
          plugin: this.plugin.plugin,
          role: this.role,
          workerConfiguration: this.workerConfiguration,
          logGroup: this.logGroup,
        }),
      },
    });
    // The role's policy must exist before the workers start: they connect with it at once.
    this.connector.resource.node.addDependency(this.role);
  }
}
