import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { PlatformFunction } from '../lambda/platform-function';
import { acknowledgeProviderFramework, NagSuppressions } from '../private/nag';
import { grantSecretRead } from '../security/secret-access';
import { DEFAULT_REPLICATION_USER } from './source-database';
import { platformProvider } from '../lambda/platform-provider';

export interface SourceDatabaseSetupProps {
  readonly config: EnvironmentConfig;
  readonly database: rds.DatabaseInstance;
  readonly databaseName: string;
  /** The name of the replication login's secret (the connector refers to it by name). */
  readonly replicationSecretName: string;
  /** Encrypts the replication login's secret. */
  readonly key: kms.IKey;
  readonly vpc: ec2.IVpc;
  /** A security group that reaches the database on 5432 and the Secrets Manager endpoint on 443. */
  readonly securityGroup: ec2.ISecurityGroup;
}

/**
 * Prepares the RDS database this stack creates for the connector, as its master user, with the
 * statements of lib/cdc/source-database.ts (lambda/cdc/database-setup): the orders table per the
 * contract when absent, REPLICA IDENTITY FULL, the publication, and the replication login
 * `cdc_replication` whose password lives in its own generated, CMK-encrypted secret. The connector
 * reads only that secret; the master secret stays with this function.
 */
export class SourceDatabaseSetup extends Construct {
  public readonly replicationSecret: secretsmanager.Secret;
  public readonly resource: CustomResource;
  public readonly fn: PlatformFunction;

  constructor(scope: Construct, id: string, props: SourceDatabaseSetupProps) {
    super(scope, id);
    const { config } = props;
    this.replicationSecret = new secretsmanager.Secret(this, 'ReplicationSecret', {
      secretName: props.replicationSecretName,
      description: `${config.platformName}-${config.envName}: the CDC connector's replication login`,
      encryptionKey: props.key,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: DEFAULT_REPLICATION_USER }),
        generateStringKey: 'password',
        passwordLength: 32,
        excludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\',
      },
      removalPolicy: config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(this.replicationSecret, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'Debezium reads the credentials only when its task starts; rotation is a runbook step (rotate, re-run the set-up, restart the connector) rather than a schedule that would break replication.',
      },
    ]);

    this.fn = new PlatformFunction(this, 'Function', {
      config,
      handlerDir: 'cdc/database-setup',
      description: 'Prepares the orders database for CDC: replica identity, publication, replication login',
      vpc: props.vpc,
      securityGroup: props.securityGroup,
      memorySize: 256,
      timeout: Duration.minutes(2),
    });
    grantSecretRead(props.database.secret!, this.fn.role, props.key);
    grantSecretRead(this.replicationSecret, this.fn.role, props.key);

    const provider = platformProvider(this, 'Provider', config, { onEventHandler: this.fn.fn });
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::CdcSourceDatabaseSetup',
      properties: {
        Host: props.database.dbInstanceEndpointAddress,
        Port: props.database.dbInstanceEndpointPort,
        Database: props.databaseName,
        Tables: JSON.stringify(config.cdc.tables),
        PublicationName: config.cdc.publicationName,
        ReplicationUser: DEFAULT_REPLICATION_USER,
        ReplicationGrant: 'rds_replication',
        MasterSecretArn: props.database.secret!.secretArn,
        ReplicationSecretArn: this.replicationSecret.secretArn,
      },
    });
    acknowledgeProviderFramework(provider, 'the set-up function');
  }
}
