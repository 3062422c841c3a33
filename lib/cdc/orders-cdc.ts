import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kafkaconnect from 'aws-cdk-lib/aws-kafkaconnect';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { NagSuppressions } from '../private/nag';
import { Construct } from 'constructs';
import { grantMskConnectInternals } from '../connect/msk-connect-plugin';
import {
  connectorExecutionRole,
  connectorWiring,
  workerConfiguration,
  type MskConnectorProps,
} from '../connect/msk-connector-parts';
import { grantSecretRead } from '../security/secret-access';
import { ConnectorResource } from './connector-resource';
import { SourceDatabaseSetup } from './database-setup';
import {
  SECRETS_MANAGER_CONFIG_PROVIDER_CLASS,
  KAFKA_CONNECT_VERSION,
  renderDebeziumPostgresConfig,
  renderWorkerConfig,
} from './debezium-config';
import { DebeziumPlugin } from './debezium-plugin';

/** The Debezium workers wear the network's `connect` group. */
export interface OrdersCdcProps extends MskConnectorProps {
  /** Encrypts the source database and its secret when this construct creates them. */
  readonly key: kms.IKey;
}

/** The secret name inside a complete Secrets Manager ARN (`...:secret:<name>-<6 chars>`). */
export function secretNameFromArn(arn: string): string {
  const match = /:secret:(.+)-[A-Za-z0-9]{6}$/.exec(arn);
  if (!match) throw new Error(`not a complete Secrets Manager secret ARN: ${arn}`);
  return match[1]!;
}

/**
 * CDC of the orders table into the catalog's cdc.orders: Debezium PostgreSQL on MSK Connect
 * (custom plugin, worker configuration, one provisioned worker since the connector runs one task),
 * IAM authentication to MSK, database credentials through the Secrets Manager config provider.
 * The source database comes from configuration; when none is given, an encrypted RDS PostgreSQL
 * with logical replication is created in the private subnets and prepared by a set-up custom
 * resource (REPLICA IDENTITY FULL, publication, a dedicated replication login).
 *
 * Upgrades: the connector is a custom resource (connector-resource.ts) that replaces it
 * delete-then-create under the same name; the worker configuration's name carries a hash of its
 * content and the plugin's a hash of its sources, so both can be replaced; every worker
 * configuration keeps source offsets in the catalog's cdc.connect-offsets, where the replacement
 * finds them (docs/runbooks/cdc-connector-upgrade.md).
 */
export class OrdersCdc extends Construct {
  public readonly connector: ConnectorResource;
  /** `<platform>-<env>-orders-cdc`: the connector's name (its metrics' `ConnectorName`). */
  public readonly connectorName: string;
  public readonly workerConfiguration: kafkaconnect.CfnWorkerConfiguration;
  /** The set-up of the database this construct created. */
  public readonly databaseSetup?: SourceDatabaseSetup;
  public readonly role: iam.Role;
  public readonly plugin: DebeziumPlugin;
  /** The database this construct created, when the configuration named none. */
  public readonly database?: rds.DatabaseInstance;
  public readonly connectorConfiguration: Record<string, string>;

  constructor(scope: Construct, id: string, props: OrdersCdcProps) {
    super(scope, id);
    const { config, catalog, cluster } = props;
    const name = `${config.platformName}-${config.envName}-orders-cdc`;
    this.connectorName = name;
    const stateful = config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    // The source database: configured, or created here.
    let host: string;
    let port: number;
    let dbName: string;
    let secret: secretsmanager.ISecret;
    let secretKey: kms.IKey | undefined;
    let secretName: string;
    const source = config.cdc.database;
    if (source) {
      host = source.host;
      port = source.port;
      dbName = source.name;
      // The replication login's secret, prepared by the database's owner (README: requirements).
      secret = secretsmanager.Secret.fromSecretCompleteArn(this, 'SourceSecret', source.secretArn);
      secretKey = source.secretKeyArn
        ? kms.Key.fromKeyArn(this, 'SourceSecretKey', source.secretKeyArn)
        : undefined;
      secretName = secretNameFromArn(source.secretArn);
      this.allowConnectEgress(
        props.securityGroup,
        { cidrIp: props.vpc.vpcCidrBlock },
        port,
        'to the source database',
      );
    } else {
      const db = this.createDatabase(props, name);
      this.database = db;
      host = db.dbInstanceEndpointAddress;
      port = 5432;
      dbName = 'orders';
      secretName = `${name}-replication`;
      // Runs as the master user in the VPC (the workers' security group reaches the database and
      // the Secrets Manager endpoint); the connector gets only the replication login's secret.
      this.databaseSetup = new SourceDatabaseSetup(this, 'DatabaseSetup', {
        config,
        database: db,
        databaseName: dbName,
        replicationSecretName: secretName,
        key: props.key,
        vpc: props.vpc,
        securityGroup: props.securityGroup,
      });
      secret = this.databaseSetup.replicationSecret;
      secretKey = props.key;
    }

    this.plugin = new DebeziumPlugin(this, 'Debezium', { config });

    this.workerConfiguration = workerConfiguration(this, 'WorkerConfiguration', {
      namePrefix: `${name}-worker`,
      description: 'JSON converters without schemas; Secrets Manager config provider; shared offsets topic',
      properties: renderWorkerConfig({
        secretsProvider: {
          className: SECRETS_MANAGER_CONFIG_PROVIDER_CLASS,
          params: { region: Aws.REGION },
        },
        offsetStorageTopic: catalog.name('cdcConnectOffsets'),
      }),
    });

    this.role = connectorExecutionRole(
      this,
      'Role',
      `${name}: MSK (IAM) for its topics and internal topics, the database secret`,
    );
    catalog.grantProduce('cdcOrders', this.role);
    catalog.grantProduce('cdcHeartbeat', this.role);
    // The shared offsets topic (offset.storage.topic): Kafka Connect reads it at start, writes the
    // task's offsets to it and checks that it is compacted. The catalog creates it.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'kafka-cluster:DescribeTopic',
          'kafka-cluster:ReadData',
          'kafka-cluster:WriteData',
          'kafka-cluster:DescribeTopicDynamicConfiguration',
        ],
        resources: [catalog.topic('cdcConnectOffsets').arn],
      }),
    );
    // MSK Connect keeps offsets, configs and status in its own internal topics and groups.
    grantMskConnectInternals(this.role, cluster);
    grantSecretRead(secret, this.role, secretKey);

    const workerLogs = new logs.LogGroup(this, 'WorkerLogs', {
      retention: config.msk.logRetentionDays as logs.RetentionDays,
      removalPolicy: stateful,
    });

    this.connectorConfiguration = renderDebeziumPostgresConfig({
      connectorName: name,
      database: { host, port, name: dbName },
      secretReference: secretName,
      tables: config.cdc.tables,
      slotName: config.cdc.slotName,
      publicationName: config.cdc.publicationName,
      topic: catalog.name('cdcOrders'),
      snapshotMode: config.cdc.snapshotMode,
      heartbeatIntervalMs: config.cdc.heartbeatIntervalMs,
      sslMode: 'require',
    });
    this.connector = new ConnectorResource(this, 'Connector', {
      config,
      executionRole: this.role,
      spec: {
        connectorName: name,
        connectorDescription: `Debezium: ${config.cdc.tables.join(', ')} -> ${catalog.name('cdcOrders')}`,
        kafkaConnectVersion: KAFKA_CONNECT_VERSION,
        // Debezium PostgreSQL reads one replication slot with one task: one worker, no autoscaling.
        capacity: { provisionedCapacity: { mcuCount: 1, workerCount: 1 } },
        connectorConfiguration: this.connectorConfiguration,
        ...connectorWiring({
          network: props,
          plugin: this.plugin.plugin,
          role: this.role,
          workerConfiguration: this.workerConfiguration,
          logGroup: workerLogs,
        }),
      },
    });
    // The role's policy must exist before the workers start (they connect with it at once), and the
    // database must be prepared (login, publication) before the connector logs in.
    this.connector.resource.node.addDependency(this.role);
    if (this.databaseSetup) this.connector.resource.node.addDependency(this.databaseSetup.resource);
  }

  /**
   * The workers' egress to the database, declared in this stack: a rule added through the network
   * stack's security group would make that stack depend on this one.
   */
  private allowConnectEgress(
    group: ec2.ISecurityGroup,
    to: { cidrIp: string } | { destinationSecurityGroupId: string },
    port: number,
    description: string,
  ): void {
    new ec2.CfnSecurityGroupEgress(this, 'ConnectToDatabase', {
      groupId: group.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: port,
      toPort: port,
      description,
      ...to,
    });
  }

  private createDatabase(props: OrdersCdcProps, name: string): rds.DatabaseInstance {
    const { config } = props;
    const sg = new ec2.SecurityGroup(this, 'DatabaseSg', {
      vpc: props.vpc,
      description: `${name}: PostgreSQL from the MSK Connect workers only`,
      allowAllOutbound: false,
    });
    sg.addIngressRule(props.securityGroup, ec2.Port.tcp(5432), 'from MSK Connect');
    this.allowConnectEgress(
      props.securityGroup,
      { destinationSecurityGroupId: sg.securityGroupId },
      5432,
      'to the orders database',
    );
    const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15_17 });
    const parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine,
      description: `${name}: logical replication for Debezium (pgoutput)`,
      parameters: {
        'rds.logical_replication': '1',
        'rds.force_ssl': '1',
        // A stalled connector's slot may hold back this much WAL (MB), then PostgreSQL invalidates
        // it instead of filling the disk; the monitoring stack alarms on the slot lag well before.
        max_slot_wal_keep_size: String(config.cdc.rds.maxSlotWalKeepSizeMiB),
      },
    });
    const db = new rds.DatabaseInstance(this, 'Database', {
      engine,
      instanceType: new ec2.InstanceType(config.cdc.rds.instanceType),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [sg],
      multiAz: config.cdc.rds.multiAz,
      allocatedStorage: config.cdc.rds.allocatedStorageGiB,
      storageType: rds.StorageType.GP3,
      storageEncrypted: true,
      storageEncryptionKey: props.key,
      databaseName: 'orders',
      credentials: rds.Credentials.fromGeneratedSecret('cdc_admin', {
        secretName: `${name}-db`,
        encryptionKey: props.key,
        excludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\',
      }),
      parameterGroup,
      iamAuthentication: true,
      backupRetention: Duration.days(config.cdc.rds.backupRetentionDays),
      deletionProtection: !config.removeDataOnDestroy,
      removalPolicy: config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.SNAPSHOT,
      instanceIdentifier: `${name}-db`,
      cloudwatchLogsExports: ['postgresql'],
      publiclyAccessible: false,
      autoMinorVersionUpgrade: true,
    });
    // The exported PostgreSQL log, with the environment's retention (no log-retention function).
    const dbLogs = new logs.LogGroup(this, 'DatabaseLogs', {
      logGroupName: `/aws/rds/instance/${name}-db/postgresql`,
      retention: config.msk.logRetentionDays as logs.RetentionDays,
      removalPolicy: config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    db.node.addDependency(dbLogs);
    // The master login's secret outlives the stack with the database's final snapshot (a restored
    // instance keeps that login), unless the environment destroys its data. `db.secret` is the
    // attachment; the generated secret itself is the instance's child `Secret`.
    (db.node.findChild('Secret') as secretsmanager.Secret).applyRemovalPolicy(
      config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    );
    NagSuppressions.addResourceSuppressions(
      db,
      [
        {
          id: 'AwsSolutions-SMG4',
          reason:
            'Debezium reads the credentials through the config provider only when its task starts; rotation is a runbook step (rotate, then restart the connector) rather than a schedule that would break replication.',
        },
        {
          id: 'AwsSolutions-RDS11',
          reason:
            'The standard PostgreSQL port; the database is reachable only from the MSK Connect security group.',
        },
        ...(config.cdc.rds.multiAz
          ? []
          : [
              {
                id: 'AwsSolutions-RDS3',
                reason: `${config.envName} runs a single-AZ database by configuration (cdc.rds.multiAz).`,
              },
            ]),
        ...(config.removeDataOnDestroy
          ? [
              {
                id: 'AwsSolutions-RDS10',
                reason: `${config.envName} may destroy its data (removeDataOnDestroy); other environments keep deletion protection.`,
              },
            ]
          : []),
      ],
      true,
    );
    return db;
  }
}
