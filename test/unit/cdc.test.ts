import { Match } from 'aws-cdk-lib/assertions';
import {
  contentHashedName,
  DEBEZIUM_VERSION,
  KAFKA_CONNECT_VERSION,
  renderDebeziumPostgresConfig,
  renderWorkerConfig,
  toPropertiesText,
} from '../../lib/cdc/debezium-config';
import { pluginSourceHash } from '../../lib/cdc/debezium-plugin';
import { secretNameFromArn } from '../../lib/cdc/orders-cdc';
import {
  cdkJsonContext,
  configFor,
  ENVIRONMENTS,
  synthEnvironment,
  type SynthesizedEnvironment,
} from '../support/synth';
import {
  joinedJson,
  MSK_CONNECT_INTERNALS_STATEMENTS,
  readable,
  stem,
  topicArn,
  type Resource,
  WORKER_PROPERTIES_BEFORE_REGION,
} from '../support/readable';

const secretDecrypt = (key: unknown) => ({
  Action: 'kms:Decrypt',
  Condition: {
    StringEquals: {
      'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
    },
  },
  Effect: 'Allow',
  Resource: key,
});

/** The connect role's policy apart from the database secret, written out by hand. */
const CONNECT_ROLE_KAFKA_STATEMENTS = [
  {
    Action: ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster', 'kafka-cluster:WriteDataIdempotently'],
    Effect: 'Allow',
    Resource: '<cluster ARN>',
  },
  {
    Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
    Effect: 'Allow',
    Resource: [topicArn('cdc.heartbeat.orders'), topicArn('cdc.orders')],
  },
  {
    Action: [
      'kafka-cluster:DescribeTopic',
      'kafka-cluster:DescribeTopicDynamicConfiguration',
      'kafka-cluster:ReadData',
      'kafka-cluster:WriteData',
    ],
    Effect: 'Allow',
    Resource: topicArn('cdc.connect-offsets'),
  },
  ...MSK_CONNECT_INTERNALS_STATEMENTS,
];

describe('the Debezium connector configuration (pure renderer)', () => {
  const rendered = renderDebeziumPostgresConfig({
    connectorName: 'streaming-dev-orders-cdc',
    database: { host: 'db.internal', port: 5432, name: 'orders' },
    secretReference: 'streaming-dev-orders-cdc-replication',
    slotName: 'platform_cdc',
    publicationName: 'platform_cdc',
    topic: 'cdc.orders',
    snapshotMode: 'initial',
    heartbeatIntervalMs: 10000,
  });

  test('every setting, written out by hand', () => {
    expect(rendered).toEqual({
      name: 'streaming-dev-orders-cdc',
      'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
      'tasks.max': '1',
      'database.hostname': 'db.internal',
      'database.port': '5432',
      'database.dbname': 'orders',
      'database.user': '${secretsmanager:streaming-dev-orders-cdc-replication:username}',
      'database.password': '${secretsmanager:streaming-dev-orders-cdc-replication:password}',
      'database.sslmode': 'require',
      'config.action.reload': 'none',
      'topic.prefix': 'orders',
      'plugin.name': 'pgoutput',
      'slot.name': 'platform_cdc',
      'slot.drop.on.stop': 'false',
      'slot.max.retries': '30',
      'slot.retry.delay.ms': '10000',
      'publication.name': 'platform_cdc',
      'publication.autocreate.mode': 'disabled',
      'table.include.list': 'public.orders',
      'snapshot.mode': 'initial',
      'heartbeat.interval.ms': '10000',
      'topic.heartbeat.prefix': 'cdc.heartbeat',
      'heartbeat.action.query': "SELECT pg_logical_emit_message(false, 'cdc-heartbeat', now()::text)",
      'message.prefix.exclude.list': 'cdc-heartbeat',
      'tombstones.on.delete': 'true',
      'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable': 'false',
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable': 'false',
      transforms: 'unwrap,route',
      'transforms.unwrap.type': 'io.debezium.transforms.ExtractNewRecordState',
      'transforms.unwrap.add.fields': 'op,lsn,source.ts_ms',
      'transforms.unwrap.delete.tombstone.handling.mode': 'rewrite-with-tombstone',
      'transforms.route.type': 'org.apache.kafka.connect.transforms.RegexRouter',
      'transforms.route.regex': 'orders\\.public\\.orders',
      'transforms.route.replacement': 'cdc.orders',
    });
  });

  // One test per data-protecting setting, so that a changed one is named in the failure.
  test.each([
    ['tombstones.on.delete', 'true'],
    ['heartbeat.action.query', "SELECT pg_logical_emit_message(false, 'cdc-heartbeat', now()::text)"],
    ['slot.drop.on.stop', 'false'],
    ['transforms.unwrap.add.fields', 'op,lsn,source.ts_ms'],
    ['transforms.unwrap.delete.tombstone.handling.mode', 'rewrite-with-tombstone'],
    ['publication.autocreate.mode', 'disabled'],
    ['snapshot.mode', 'initial'],
    ['slot.max.retries', '30'],
    ['slot.retry.delay.ms', '10000'],
    ['config.action.reload', 'none'],
  ])('%s is %s', (key, value) => {
    expect(rendered[key]).toBe(value);
  });

  test('the worker configuration names the shared offsets topic; names carry content hashes', () => {
    const text = toPropertiesText(
      renderWorkerConfig({
        secretsProvider: {
          className: 'platform.connect.config.SecretsManagerConfigProvider',
          params: { region: 'eu-west-1' },
        },
        offsetStorageTopic: 'cdc.connect-offsets',
      }),
    );
    expect(text).toBe(
      [
        'key.converter=org.apache.kafka.connect.json.JsonConverter',
        'key.converter.schemas.enable=false',
        'value.converter=org.apache.kafka.connect.json.JsonConverter',
        'value.converter.schemas.enable=false',
        'config.providers=secretsmanager',
        'config.providers.secretsmanager.class=platform.connect.config.SecretsManagerConfigProvider',
        'config.providers.secretsmanager.param.region=eu-west-1',
        'offset.storage.topic=cdc.connect-offsets',
        '',
      ].join('\n'),
    );
    // sha256("a=b\n") = 77e7ce77..., sha256("a=c\n") = 6d53cd9b...
    expect(contentHashedName('w', 'a=b\n')).toBe('w-77e7ce77');
    expect(contentHashedName('w', 'a=c\n')).toBe('w-6d53cd9b');
  });
});

describe.each(ENVIRONMENTS)('orders CDC in %s', (envName) => {
  let synth: SynthesizedEnvironment;
  const config = configFor(envName);
  beforeAll(() => {
    synth = synthEnvironment(envName);
  });
  const resources = () => (synth.sources.toJSON() as { Resources: Record<string, Resource> }).Resources;
  const ofType = (type: string) => Object.entries(resources()).filter(([, r]) => r.Type === type);
  const connectorSpec = () => {
    const [[, connector]] = ofType('Custom::MskConnectConnector') as [[string, Resource]];
    return joinedJson(connector.Properties.Connector);
  };
  const policy = (stemId: string) => {
    const found = Object.entries(resources()).filter(
      ([id, r]) => r.Type === 'AWS::IAM::Policy' && stem(id) === stemId,
    );
    expect(found).toHaveLength(1);
    return readable((found[0]![1].Properties as { PolicyDocument: unknown }).PolicyDocument);
  };

  test('the plugin is a ZIP custom plugin named after its Debezium version and source hash', () => {
    synth.sources.hasResourceProperties('AWS::KafkaConnect::CustomPlugin', {
      ContentType: 'ZIP',
      Name: `streaming-${envName}-debezium-postgres-${DEBEZIUM_VERSION.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}-${pluginSourceHash().slice(0, 8)}`,
      Location: { S3Location: { BucketArn: Match.anyValue(), FileKey: Match.stringLikeRegexp('\\.zip$') } },
    });
  });

  test('the connector is the replacing custom resource, not AWS::KafkaConnect::Connector', () => {
    synth.sources.resourceCountIs('AWS::KafkaConnect::Connector', 0);
    expect(ofType('Custom::MskConnectConnector')).toHaveLength(1);
    const spec = connectorSpec();
    expect({ ...spec, connectorConfiguration: undefined }).toEqual({
      connectorName: `streaming-${envName}-orders-cdc`,
      connectorDescription: 'Debezium: public.orders -> cdc.orders',
      kafkaConnectVersion: KAFKA_CONNECT_VERSION,
      capacity: { provisionedCapacity: { mcuCount: 1, workerCount: 1 } },
      kafkaCluster: {
        apacheKafkaCluster: {
          bootstrapServers: '<IAM bootstrap brokers>',
          vpc: { securityGroups: [expect.any(String)], subnets: expect.any(Array) },
        },
      },
      kafkaClusterClientAuthentication: { authenticationType: 'IAM' },
      kafkaClusterEncryptionInTransit: { encryptionType: 'TLS' },
      plugins: [
        { customPlugin: { customPluginArn: expect.stringContaining('CustomPluginArn'), revision: 1 } },
      ],
      serviceExecutionRoleArn: JSON.stringify({ 'Fn::GetAtt': ['OrdersCdcRole', 'Arn'] }),
      workerConfiguration: {
        workerConfigurationArn: JSON.stringify({
          'Fn::GetAtt': ['OrdersCdcWorkerConfiguration', 'WorkerConfigurationArn'],
        }),
        revision: 1,
      },
      logDelivery: { workerLogDelivery: { cloudWatchLogs: { enabled: true, logGroup: expect.any(String) } } },
      connectorConfiguration: undefined,
    });
  });

  test('the deployed connector configuration carries the data-protecting settings and the replication login', () => {
    const cfg = connectorSpec().connectorConfiguration as Record<string, string>;
    const keys = [
      'tombstones.on.delete',
      'heartbeat.action.query',
      'slot.drop.on.stop',
      'slot.max.retries',
      'slot.retry.delay.ms',
      'transforms.unwrap.add.fields',
      'transforms.unwrap.delete.tombstone.handling.mode',
      'publication.autocreate.mode',
      'publication.name',
      'slot.name',
      'snapshot.mode',
      'table.include.list',
      'transforms.route.replacement',
      'database.user',
      'database.password',
      'database.sslmode',
    ];
    expect(Object.fromEntries(keys.map((k) => [k, cfg[k]]))).toEqual({
      'tombstones.on.delete': 'true',
      'heartbeat.action.query': "SELECT pg_logical_emit_message(false, 'cdc-heartbeat', now()::text)",
      'slot.drop.on.stop': 'false',
      'slot.max.retries': '30',
      'slot.retry.delay.ms': '10000',
      'transforms.unwrap.add.fields': 'op,lsn,source.ts_ms',
      'transforms.unwrap.delete.tombstone.handling.mode': 'rewrite-with-tombstone',
      'publication.autocreate.mode': 'disabled',
      'publication.name': 'platform_cdc',
      'slot.name': 'platform_cdc',
      'snapshot.mode': 'initial',
      'table.include.list': 'public.orders',
      'transforms.route.replacement': 'cdc.orders',
      'database.user': `\${secretsmanager:streaming-${envName}-orders-cdc-replication:username}`,
      'database.password': `\${secretsmanager:streaming-${envName}-orders-cdc-replication:password}`,
      'database.sslmode': 'require',
    });
    expect(cfg['heartbeat.interval.ms']).toBe(String(config.cdc.heartbeatIntervalMs));
  });

  test('the worker configuration: name with a content hash, the shared offsets topic, the config provider', () => {
    const [[, worker]] = ofType('AWS::KafkaConnect::WorkerConfiguration') as [[string, Resource]];
    expect(worker.Properties.Name).toMatch(
      new RegExp(`^streaming-${envName}-orders-cdc-worker-[0-9a-f]{8}$`),
    );
    expect(readable(worker.Properties.PropertiesFileContent)).toEqual({
      'Fn::Base64': {
        'Fn::Join': [
          '',
          [
            WORKER_PROPERTIES_BEFORE_REGION,
            { Ref: 'AWS::Region' },
            '\noffset.storage.topic=cdc.connect-offsets\n',
          ],
        ],
      },
    });
    // The catalog creates the offsets topic compacted (Kafka Connect refuses anything else).
    synth.streaming.hasResourceProperties('AWS::MSK::Topic', { TopicName: 'cdc.connect-offsets' });
  });

  test('the execution role: exactly its topics, groups and the replication secret', () => {
    expect(policy('OrdersCdcRoleDefaultPolicy')).toEqual({
      Version: '2012-10-17',
      Statement: [
        ...CONNECT_ROLE_KAFKA_STATEMENTS,
        {
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Effect: 'Allow',
          Resource: { Ref: 'OrdersCdcDatabaseSetupReplicationSecret' },
        },
        secretDecrypt('<platform key ARN>'),
      ],
    });
  });

  test('the connector functions: the connector of this name, the role to pass, the service-linked role; * only in their own policy', () => {
    const connectorArns = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':kafkaconnect:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          `:connector/streaming-${envName}-orders-cdc/*`,
        ],
      ],
    };
    for (const fn of ['OnEvent', 'IsComplete']) {
      expect(policy(`OrdersCdcConnector${fn}RoleDefaultPolicy`)).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [`OrdersCdcConnector${fn}Logs`, 'Arn'] },
          },
          {
            Action: [
              'kafkaconnect:DeleteConnector',
              'kafkaconnect:DescribeConnector',
              'kafkaconnect:UpdateConnector',
            ],
            Effect: 'Allow',
            Resource: connectorArns,
          },
          {
            Action: 'iam:PassRole',
            Condition: { StringEquals: { 'iam:PassedToService': 'kafkaconnect.amazonaws.com' } },
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': ['OrdersCdcRole', 'Arn'] },
          },
          {
            Action: ['iam:AttachRolePolicy', 'iam:CreateServiceLinkedRole', 'iam:PutRolePolicy'],
            Effect: 'Allow',
            Resource: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':iam::',
                  { Ref: 'AWS::AccountId' },
                  ':role/aws-service-role/kafkaconnect.amazonaws.com/AWSServiceRoleForKafkaConnect*',
                ],
              ],
            },
          },
        ],
      });
      expect(policy(`OrdersCdcConnector${fn}MskConnectControlPlane`)).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Action: [
              'ec2:CreateNetworkInterface',
              'ec2:DescribeSecurityGroups',
              'ec2:DescribeSubnets',
              'ec2:DescribeVpcs',
              'kafkaconnect:CreateConnector',
              'kafkaconnect:ListConnectors',
              'logs:CreateLogDelivery',
              'logs:DeleteLogDelivery',
              'logs:DescribeLogGroups',
              'logs:DescribeResourcePolicies',
              'logs:GetLogDelivery',
              'logs:ListLogDeliveries',
              'logs:PutResourcePolicy',
            ],
            Effect: 'Allow',
            Resource: '*',
          },
        ],
      });
    }
  });

  test('the provider wires onEvent and isComplete to the connector functions and polls every 30 s for up to an hour', () => {
    const [[, connector]] = ofType('Custom::MskConnectConnector') as [[string, Resource]];
    const token = readable(connector.Properties.ServiceToken) as { 'Fn::GetAtt': [string, string] };
    const frameworkId = Object.keys(resources()).find((id) => stem(id) === token['Fn::GetAtt'][0])!;
    const env = (resources()[frameworkId]!.Properties.Environment as { Variables: Record<string, unknown> })
      .Variables;
    expect(readable(env.USER_ON_EVENT_FUNCTION_ARN)).toEqual({
      'Fn::GetAtt': ['OrdersCdcConnectorOnEventFunction', 'Arn'],
    });
    expect(readable(env.USER_IS_COMPLETE_FUNCTION_ARN)).toEqual({
      'Fn::GetAtt': ['OrdersCdcConnectorIsCompleteFunction', 'Arn'],
    });
    const machines = ofType('AWS::StepFunctions::StateMachine').filter(([id]) =>
      id.startsWith('OrdersCdcConnector'),
    );
    expect(machines).toHaveLength(1);
    const definition = JSON.stringify(machines[0]![1].Properties.DefinitionString);
    expect(definition).toContain('\\"IntervalSeconds\\":30');
    expect(definition).toContain('\\"MaxAttempts\\":120');
    const handlers = ofType('AWS::Lambda::Function')
      .filter(([id]) => /^OrdersCdcConnector(OnEvent|IsComplete)Function/.test(id))
      .map(([, r]) => r.Properties.Handler);
    expect(handlers).toEqual(['index.handler', 'index.handler']);
  });

  test('without a configured database: an encrypted private RDS PostgreSQL 15 with logical replication', () => {
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
  });

  test('the set-up runs as the master user and gives the connector its own CMK-encrypted login secret', () => {
    const [[, setup]] = ofType('Custom::CdcSourceDatabaseSetup') as [[string, Resource]];
    expect(readable({ ...setup.Properties, ServiceToken: undefined })).toEqual({
      ServiceToken: undefined,
      Host: { 'Fn::GetAtt': ['OrdersCdcDatabase', 'Endpoint.Address'] },
      Port: { 'Fn::GetAtt': ['OrdersCdcDatabase', 'Endpoint.Port'] },
      Database: 'orders',
      Tables: '["public.orders"]',
      PublicationName: 'platform_cdc',
      ReplicationUser: 'cdc_replication',
      ReplicationGrant: 'rds_replication',
      MasterSecretArn: { Ref: 'OrdersCdcDatabaseSecretAttachment' },
      ReplicationSecretArn: { Ref: 'OrdersCdcDatabaseSetupReplicationSecret' },
    });
    synth.sources.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: `streaming-${envName}-orders-cdc-replication`,
      KmsKeyId: Match.anyValue(),
      GenerateSecretString: Match.objectLike({
        SecretStringTemplate: '{"username":"cdc_replication"}',
        GenerateStringKey: 'password',
      }),
    });
    // The connector waits for the set-up (login, publication) before it is created.
    const [[, connector]] = ofType('Custom::MskConnectConnector') as [[string, Resource]];
    expect((connector.DependsOn ?? []).map(stem)).toContain('OrdersCdcDatabaseSetup');
    expect(policy('OrdersCdcDatabaseSetupFunctionRoleDefaultPolicy')).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Effect: 'Allow',
          Resource: { 'Fn::GetAtt': ['OrdersCdcDatabaseSetupFunctionLogs', 'Arn'] },
        },
        {
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Effect: 'Allow',
          Resource: [
            { Ref: 'OrdersCdcDatabaseSecretAttachment' },
            { Ref: 'OrdersCdcDatabaseSetupReplicationSecret' },
          ],
        },
        secretDecrypt('<platform key ARN>'),
      ],
    });
  });

  test('only the MSK Connect workers (and the set-up function in their group) reach the database', () => {
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
  const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';
  const environments = structuredClone(cdkJsonContext().environments) as Record<
    string,
    Record<string, Record<string, unknown>>
  >;
  environments.prod!.cdc!.database = {
    host: 'orders.cluster-abc.eu-west-1.rds.amazonaws.com',
    port: 5432,
    name: 'shop',
    secretArn,
    secretKeyArn: keyArn,
  };
  const { sources } = synthEnvironment('prod', { environments });
  const resources = (sources.toJSON() as { Resources: Record<string, Resource> }).Resources;

  test('is used instead of creating one, and is not set up by the stack', () => {
    sources.resourceCountIs('AWS::RDS::DBInstance', 0);
    sources.resourceCountIs('Custom::CdcSourceDatabaseSetup', 0);
    const [connector] = Object.values(resources).filter((r) => r.Type === 'Custom::MskConnectConnector');
    const cfg = joinedJson(connector!.Properties.Connector).connectorConfiguration as Record<string, string>;
    expect(cfg).toMatchObject({
      'database.hostname': 'orders.cluster-abc.eu-west-1.rds.amazonaws.com',
      'database.dbname': 'shop',
      'database.user': '${secretsmanager:orders/debezium:username}',
      'publication.autocreate.mode': 'disabled',
    });
    sources.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      FromPort: 5432,
      CidrIp: Match.anyValue(),
    });
  });

  test("the role reads exactly the replication login's secret and decrypts it with the configured key", () => {
    const [id] = Object.keys(resources).filter((k) => stem(k) === 'OrdersCdcRoleDefaultPolicy');
    expect(readable((resources[id!]!.Properties as { PolicyDocument: unknown }).PolicyDocument)).toEqual({
      Version: '2012-10-17',
      Statement: [
        ...CONNECT_ROLE_KAFKA_STATEMENTS,
        {
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Effect: 'Allow',
          Resource: secretArn,
        },
        secretDecrypt(keyArn),
      ],
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
    const badKey = structuredClone(environments);
    (badKey.prod!.cdc!.database as Record<string, unknown>).secretKeyArn = 'alias/orders';
    expect(() => synthEnvironment('prod', { environments: badKey })).toThrow(
      'environments.prod.cdc.database.secretKeyArn: must be a KMS key ARN',
    );
  });
});
