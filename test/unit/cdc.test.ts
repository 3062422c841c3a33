import { Match } from 'aws-cdk-lib/assertions';
import { DEBEZIUM_VERSION, KAFKA_CONNECT_VERSION } from '../../lib/cdc/debezium-config';
import { pluginSourceHash } from '../../lib/cdc/debezium-plugin';
import { secretNameFromArn } from '../../lib/cdc/orders-cdc';
import {
  cdkJsonContext,
  configFor,
  ENVIRONMENTS,
  synthEnvironment,
  type SynthesizedEnvironment,
} from '../support/synth';

type Connector = { Properties: { ConnectorConfiguration: Record<string, unknown>; [k: string]: unknown } };

describe.each(ENVIRONMENTS)('orders CDC in %s', (envName) => {
  let synth: SynthesizedEnvironment;
  const config = configFor(envName);
  beforeAll(() => {
    synth = synthEnvironment(envName);
  });
  const connector = () =>
    Object.values(synth.sources.findResources('AWS::KafkaConnect::Connector'))[0] as Connector;

  test('the plugin is a ZIP custom plugin named after its Debezium version', () => {
    synth.sources.hasResourceProperties('AWS::KafkaConnect::CustomPlugin', {
      ContentType: 'ZIP',
      Name: `streaming-${envName}-debezium-postgres-${DEBEZIUM_VERSION.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}-${pluginSourceHash().slice(0, 8)}`,
      Location: { S3Location: { BucketArn: Match.anyValue(), FileKey: Match.stringLikeRegexp('\\.zip$') } },
    });
  });

  test('one provisioned worker on Kafka Connect 3.7.x, IAM to MSK over TLS, logs to CloudWatch', () => {
    synth.sources.resourceCountIs('AWS::KafkaConnect::Connector', 1);
    synth.sources.hasResourceProperties('AWS::KafkaConnect::Connector', {
      ConnectorName: `streaming-${envName}-orders-cdc`,
      KafkaConnectVersion: KAFKA_CONNECT_VERSION,
      Capacity: { ProvisionedCapacity: { McuCount: 1, WorkerCount: 1 } },
      KafkaClusterClientAuthentication: { AuthenticationType: 'IAM' },
      KafkaClusterEncryptionInTransit: { EncryptionType: 'TLS' },
      LogDelivery: { WorkerLogDelivery: { CloudWatchLogs: { Enabled: true, LogGroup: Match.anyValue() } } },
      Plugins: [{ CustomPlugin: { CustomPluginArn: Match.anyValue(), Revision: 1 } }],
      WorkerConfiguration: { WorkerConfigurationArn: Match.anyValue(), Revision: 1 },
    });
    expect(KAFKA_CONNECT_VERSION).toBe('3.7.x');
  });

  test('the connector configuration routes to the catalog topic, with credentials only as provider placeholders', () => {
    const cfg = connector().Properties.ConnectorConfiguration;
    expect(cfg).toMatchObject({
      'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
      'tasks.max': '1',
      'plugin.name': 'pgoutput',
      'slot.name': config.cdc.slotName,
      'publication.name': config.cdc.publicationName,
      'publication.autocreate.mode': 'filtered',
      'table.include.list': config.cdc.tables.join(','),
      'snapshot.mode': config.cdc.snapshotMode,
      'heartbeat.interval.ms': String(config.cdc.heartbeatIntervalMs),
      'transforms.route.replacement': 'cdc.orders',
      'transforms.unwrap.delete.tombstone.handling.mode': 'rewrite-with-tombstone',
      'database.user': `\${secretsmanager:streaming-${envName}-orders-cdc-db:username}`,
      'database.password': `\${secretsmanager:streaming-${envName}-orders-cdc-db:password}`,
      'database.dbname': 'orders',
      'database.sslmode': 'require',
    });
  });

  test('the worker configuration registers the Secrets Manager config provider', () => {
    const worker = Object.values(
      synth.sources.findResources('AWS::KafkaConnect::WorkerConfiguration'),
    )[0] as {
      Properties: { PropertiesFileContent: { 'Fn::Base64': unknown } };
    };
    const text = JSON.stringify(worker.Properties.PropertiesFileContent['Fn::Base64']);
    expect(text).toContain('config.providers=secretsmanager');
    expect(text).toContain(
      'config.providers.secretsmanager.class=platform.connect.config.SecretsManagerConfigProvider',
    );
    expect(text).toContain('value.converter.schemas.enable=false');
  });

  test('the execution role produces to cdc.orders and the heartbeat topic, and reads the database secret', () => {
    const policy = JSON.stringify(
      Object.entries(synth.sources.findResources('AWS::IAM::Policy')).filter(([id]) =>
        id.startsWith('OrdersCdc'),
      ),
    );
    expect(policy).toContain('/cdc.orders');
    expect(policy).toContain('/cdc.heartbeat.orders');
    expect(policy).toContain('/__amazon_msk_connect_*');
    expect(policy).toContain('secretsmanager:GetSecretValue');
    expect(policy).not.toContain('/events.user');
  });

  test('without a configured database, an encrypted private RDS PostgreSQL 15 with logical replication', () => {
    synth.sources.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      EngineVersion: Match.stringLikeRegexp('^15\\.'),
      StorageEncrypted: true,
      KmsKeyId: Match.anyValue(),
      PubliclyAccessible: false,
      MultiAZ: config.cdc.rds.multiAz,
      DeletionProtection: !config.removeDataOnDestroy,
      BackupRetentionPeriod: config.cdc.rds.backupRetentionDays,
      EnableIAMDatabaseAuthentication: true,
    });
    synth.sources.hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Parameters: { 'rds.logical_replication': '1', 'rds.force_ssl': '1' },
    });
    synth.sources.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: `streaming-${envName}-orders-cdc-db`,
      KmsKeyId: Match.anyValue(),
      GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"cdc_admin"}' }),
    });
  });

  test('only the MSK Connect workers reach the database', () => {
    synth.sources.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5432,
      ToPort: 5432,
      SourceSecurityGroupId: Match.anyValue(),
    });
    synth.sources.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      FromPort: 5432,
      ToPort: 5432,
      DestinationSecurityGroupId: Match.anyValue(),
    });
  });
});

describe('a configured source database', () => {
  const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders/debezium-AbCdEf';
  const environments = structuredClone(cdkJsonContext().environments) as Record<
    string,
    Record<string, Record<string, unknown>>
  >;
  environments.prod!.cdc!.database = {
    host: 'orders.cluster-abc.eu-west-1.rds.amazonaws.com',
    port: 5432,
    name: 'shop',
    secretArn,
  };
  const { sources } = synthEnvironment('prod', { environments });

  test('is used instead of creating one', () => {
    sources.resourceCountIs('AWS::RDS::DBInstance', 0);
    const connector = Object.values(sources.findResources('AWS::KafkaConnect::Connector'))[0] as Connector;
    expect(connector.Properties.ConnectorConfiguration).toMatchObject({
      'database.hostname': 'orders.cluster-abc.eu-west-1.rds.amazonaws.com',
      'database.dbname': 'shop',
      'database.user': '${secretsmanager:orders/debezium:username}',
    });
    sources.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      FromPort: 5432,
      CidrIp: Match.anyValue(),
    });
  });

  test('secret names come from complete ARNs, and anything else is refused', () => {
    expect(secretNameFromArn(secretArn)).toBe('orders/debezium');
    expect(() => secretNameFromArn('arn:aws:secretsmanager:eu-west-1:123456789012:secret:partial')).toThrow(
      'complete',
    );
  });

  test('a malformed database setting fails synth naming the key', () => {
    const bad = structuredClone(environments);
    (bad.prod!.cdc!.database as Record<string, unknown>).secretArn = 'my-secret';
    expect(() => synthEnvironment('prod', { environments: bad })).toThrow(
      'environments.prod.cdc.database.secretArn: must be a Secrets Manager secret ARN',
    );
  });
});
