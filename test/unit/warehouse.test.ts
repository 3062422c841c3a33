/**
 * The warehouse stack (the Snowflake sink connector on MSK Connect), read from the templates and
 * compared with expectations written here by hand: the connector's specification and configuration,
 * its plugin and worker configuration, its role, no key material anywhere, and
 * the synth checks of environments.<env>.warehouse. cdk.json configures no Snowflake account, so the
 * tests add the made-up one of test/support/warehouse.ts (nothing here reaches Snowflake or AWS).
 * The workers' egress is in network-exposure.test.ts, cdk-nag in nag.test.ts, cfn-lint in
 * cfn-lint.test.ts, each with the same test account.
 */
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SNOWFLAKE_CONNECTOR, SNOWFLAKE_PLUGIN_PROJECT_DIR } from '../../lib/warehouse/snowflake-config';
import { snowflakePluginSourceHash } from '../../lib/warehouse/snowflake-plugin';
import {
  ASSET_BUCKET_ARN,
  joinedJson,
  MSK_CONNECT_INTERNALS_STATEMENTS,
  readable,
  topicArn,
  type Resource,
  WORKER_PROPERTIES_BEFORE_REGION,
} from '../support/readable';
import { buildApp, configFor, ENVIRONMENTS, synthEnvironment } from '../support/synth';
import { environmentTemplates } from '../support/template-graph';
import { TEST_SNOWFLAKE_ACCOUNT, TEST_SNOWFLAKE_SECRET_ARN, withSnowflake } from '../support/warehouse';

const ROOT = join(__dirname, '..', '..');
const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8899-aabbccddeeff';

/** Per environment, from cdk.json, written out: workers, tasks, DLQ replication, log retention. */
const EXPECTED_ENV: Record<
  string,
  { mcu: number; min: number; max: number; tasks: number; rf: number; logDays: number; retain: boolean }
> = {
  dev: { mcu: 1, min: 1, max: 2, tasks: 3, rf: 2, logDays: 14, retain: false },
  staging: { mcu: 1, min: 1, max: 2, tasks: 6, rf: 3, logDays: 30, retain: true },
  prod: { mcu: 2, min: 2, max: 6, tasks: 12, rf: 3, logDays: 90, retain: true },
};

test('every environment has its expectation row', () => {
  expect(Object.keys(EXPECTED_ENV).sort()).toEqual([...ENVIRONMENTS].sort());
});

describe('without a Snowflake account (cdk.json as committed)', () => {
  test.each(ENVIRONMENTS)(
    '%s has no warehouse stack, builds no plugin, and says so in a warning',
    (envName) => {
      const { app, stacks } = buildApp(envName);
      expect(stacks.warehouse).toBeUndefined();
      // The warehouse group of the network and the catalog's dlq.snowflake-sink exist regardless.
      expect(
        app.node
          .findAll()
          .map((c) => c.node.path)
          .filter((path) => /(^|\/)SnowflakeSink(\/|$)|-warehouse(\/|$)/.test(path)),
      ).toEqual([]);
      Annotations.fromStack(stacks.events).hasWarning(
        '*',
        `environments.${envName}.warehouse.snowflake is not configured: the Snowflake sink connector is not created and events.aggregates reaches OpenSearch only (docs/warehouse.md says how to connect an account) [ack: platform:warehouse-not-configured]`,
      );
    },
  );

  test('the default synth stages no Snowflake plugin asset', () => {
    const { app } = buildApp('dev');
    const assembly = app.synth();
    const manifests = readdirSync(assembly.directory).filter((f) => f.endsWith('.assets.json'));
    const text = manifests.map((f) => readFileSync(join(assembly.directory, f), 'utf8')).join('\n');
    expect(text).not.toContain(snowflakePluginSourceHash());
    expect(text).not.toContain('snowflake');
  });
});

describe.each(ENVIRONMENTS)('the warehouse stack in %s', (envName) => {
  const row = EXPECTED_ENV[envName]!;
  const synth = synthEnvironment(envName, withSnowflake(envName));
  const template = synth.warehouse!;
  const resources = (
    template.toJSON() as { Resources: Record<string, Resource & { DeletionPolicy?: string }> }
  ).Resources;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  test('the stack exists, named after the environment', () => {
    expect(synth.stacks.warehouse!.stackName).toBe(`streaming-${envName}-warehouse`);
    expect(
      Annotations.fromStack(synth.stacks.events).findWarning(
        '*',
        Match.stringLikeRegexp('warehouse.snowflake'),
      ),
    ).toEqual([]);
  });

  test('the connector: autoscaled workers, IAM and TLS to the brokers, its plugin, role, worker configuration and log group', () => {
    expect(ofType('AWS::KafkaConnect::Connector')).toEqual([]);
    const [[, connector]] = ofType('Custom::MskConnectConnector') as [[string, Resource]];
    const spec = joinedJson(connector.Properties.Connector);
    expect({ ...spec, connectorConfiguration: undefined }).toEqual({
      connectorName: `streaming-${envName}-warehouse-sink`,
      connectorDescription: 'Snowflake Kafka connector 2.5.0: events.aggregates -> PLATFORM.STREAMING',
      kafkaConnectVersion: '3.7.x',
      capacity: {
        autoScaling: {
          mcuCount: row.mcu,
          minWorkerCount: row.min,
          maxWorkerCount: row.max,
          scaleInPolicy: { cpuUtilizationPercentage: 20 },
          scaleOutPolicy: { cpuUtilizationPercentage: 80 },
        },
      },
      kafkaCluster: {
        apacheKafkaCluster: {
          bootstrapServers: '<IAM bootstrap brokers>',
          vpc: {
            securityGroups: ['<PublishOutputFnGetAttNetworkwarehouseSgBD8DBB44GroupIdF81A77B3>'],
            subnets: expect.any(Array),
          },
        },
      },
      kafkaClusterClientAuthentication: { authenticationType: 'IAM' },
      kafkaClusterEncryptionInTransit: { encryptionType: 'TLS' },
      plugins: [
        {
          customPlugin: {
            // The construct id carries the version and the source hash (Plugin-2-5-0-<hash8>).
            customPluginArn: JSON.stringify({
              'Fn::GetAtt': [
                `SnowflakeSinkSnowflakePlugin250${snowflakePluginSourceHash().slice(0, 8)}`,
                'CustomPluginArn',
              ],
            }),
            revision: 1,
          },
        },
      ],
      serviceExecutionRoleArn: JSON.stringify({ 'Fn::GetAtt': ['SnowflakeSinkRole', 'Arn'] }),
      workerConfiguration: {
        workerConfigurationArn: JSON.stringify({
          'Fn::GetAtt': ['SnowflakeSinkWorkerConfiguration', 'WorkerConfigurationArn'],
        }),
        revision: 1,
      },
      logDelivery: {
        workerLogDelivery: {
          cloudWatchLogs: { enabled: true, logGroup: JSON.stringify({ Ref: 'SnowflakeSinkWorkerLogs' }) },
        },
      },
      connectorConfiguration: undefined,
    });
    // The workers run in the private subnets (with NAT), one per AZ.
    const subnets = (spec.kafkaCluster as { apacheKafkaCluster: { vpc: { subnets: string[] } } })
      .apacheKafkaCluster.vpc.subnets;
    expect(subnets.length).toBe(synth.stacks.network.availabilityZones.length);
    for (const s of subnets) expect(s).toMatch(/^<PublishOutputRefNetworkVpcprivateSubnet\dSubnet/);
    expect(new Set(subnets).size).toBe(subnets.length);
    // The role exists (with its policy) before the workers start.
    expect(connector.DependsOn).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^SnowflakeSinkRole[0-9A-F]{8}$/),
        expect.stringMatching(/^SnowflakeSinkRoleDefaultPolicy[0-9A-F]{8}$/),
      ]),
    );
  });

  test('the deployed connector configuration, every setting written out', () => {
    const [[, connector]] = ofType('Custom::MskConnectConnector') as [[string, Resource]];
    expect(joinedJson(connector.Properties.Connector).connectorConfiguration).toEqual({
      name: `streaming-${envName}-warehouse-sink`,
      'connector.class': 'com.snowflake.kafka.connector.SnowflakeSinkConnector',
      'tasks.max': String(row.tasks),
      topics: 'events.aggregates',
      'snowflake.topic2table.map': 'events.aggregates:EVENTS_AGGREGATES',
      'snowflake.url.name': 'exampleorg-analytics.snowflakecomputing.com:443',
      'snowflake.user.name': 'KAFKA_CONNECTOR',
      'snowflake.role.name': 'KAFKA_CONNECTOR_ROLE',
      'snowflake.database.name': 'PLATFORM',
      'snowflake.schema.name': 'STREAMING',
      'snowflake.authenticator': 'snowflake_jwt',
      'snowflake.private.key': '${secretsmanager:streaming/warehouse/snowflake-key:privateKey}',
      'snowflake.private.key.passphrase': '${secretsmanager:streaming/warehouse/snowflake-key:passphrase}',
      'config.action.reload': 'none',
      'snowflake.ingestion.method': 'SNOWPIPE_STREAMING',
      'snowflake.enable.schematization': 'false',
      'snowflake.streaming.enable.single.buffer': 'false',
      'buffer.count.records': '10000',
      'buffer.size.bytes': '20000000',
      'buffer.flush.time': '10',
      'snowflake.streaming.max.client.lag': '1',
      'enable.task.fail.on.authorization.errors': 'true',
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable': 'false',
      'behavior.on.null.values': 'IGNORE',
      'errors.tolerance': 'all',
      'errors.log.enable': 'true',
      'errors.log.include.messages': 'false',
      'errors.deadletterqueue.topic.name': 'dlq.snowflake-sink',
      'errors.deadletterqueue.topic.replication.factor': String(row.rf),
      'errors.deadletterqueue.context.headers.enable': 'true',
    });
  });

  test('the plugin: a ZIP named after the connector version and its source hash', () => {
    const [[, plugin]] = ofType('AWS::KafkaConnect::CustomPlugin') as [[string, Resource]];
    const hash = snowflakePluginSourceHash();
    expect(readable(plugin.Properties)).toEqual({
      ContentType: 'ZIP',
      Description: 'Snowflake Kafka connector 2.5.0 with the Secrets Manager config provider',
      Name: `streaming-${envName}-snowflake-sink-2-5-0-${hash.slice(0, 8)}`,
      Location: {
        S3Location: {
          BucketArn: ASSET_BUCKET_ARN,
          // CDK's asset hash of the custom source hash and the bundling options: no file is read.
          FileKey: expect.stringMatching(/^[0-9a-f]{64}\.zip$/),
        },
      },
      Tags: [
        { Key: 'environment', Value: envName },
        { Key: 'platform', Value: 'streaming' },
      ],
    });
  });

  test('the worker configuration: JSON converters and the config provider, no offsets topic, a content-hashed name', () => {
    const [[, worker]] = ofType('AWS::KafkaConnect::WorkerConfiguration') as [[string, Resource]];
    expect(worker.Properties.Name).toMatch(
      new RegExp(`^streaming-${envName}-warehouse-sink-worker-[0-9a-f]{8}$`),
    );
    expect(readable(worker.Properties.PropertiesFileContent)).toEqual({
      'Fn::Base64': {
        'Fn::Join': ['', [WORKER_PROPERTIES_BEFORE_REGION, { Ref: 'AWS::Region' }, '\n']],
      },
    });
  });

  test('the role: trusted by MSK Connect of this account only; events.aggregates, its dead-letter topic, the internals, the key-pair secret', () => {
    const [[, role]] = ofType('AWS::IAM::Role').filter(([id]) => id.startsWith('SnowflakeSinkRole')) as [
      [string, Resource],
    ];
    expect(readable(role.Properties.AssumeRolePolicyDocument)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'kafkaconnect.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ],
    });
    const policies = ofType('AWS::IAM::Policy').filter(([, p]) =>
      JSON.stringify(p.Properties.Roles).includes('SnowflakeSinkRole'),
    );
    expect(policies).toHaveLength(1);
    expect(readable((policies[0]![1].Properties as { PolicyDocument: unknown }).PolicyDocument)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
          Effect: 'Allow',
          Resource: topicArn('events.aggregates'),
        },
        {
          Action: [
            'kafka-cluster:Connect',
            'kafka-cluster:DescribeCluster',
            'kafka-cluster:WriteDataIdempotently',
          ],
          Effect: 'Allow',
          Resource: '<cluster ARN>',
        },
        {
          Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
          Effect: 'Allow',
          Resource: topicArn('dlq.snowflake-sink'),
        },
        ...MSK_CONNECT_INTERNALS_STATEMENTS,
        {
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Effect: 'Allow',
          Resource: TEST_SNOWFLAKE_SECRET_ARN,
        },
      ],
    });
  });

  test('the worker log group: its retention, kept on delete unless the environment may destroy data', () => {
    const [[, logs]] = ofType('AWS::Logs::LogGroup').filter(([id]) =>
      id.startsWith('SnowflakeSinkWorkerLogs'),
    ) as [[string, Resource & { DeletionPolicy?: string; UpdateReplacePolicy?: string }]];
    expect(logs.Properties.RetentionInDays).toBe(row.logDays);
    expect([logs.DeletionPolicy, logs.UpdateReplacePolicy]).toEqual(
      row.retain ? ['Retain', 'Retain'] : ['Delete', 'Delete'],
    );
  });

  test('no private key, passphrase or key body anywhere in any template of the environment', () => {
    const text = JSON.stringify([...environmentTemplates(envName, withSnowflake(envName)).values()]);
    expect(text).not.toMatch(/-----BEGIN|PRIVATE KEY|MII[A-Za-z0-9+/]{40}/);
    // The only mentions of the key are the config-provider placeholders.
    expect(text.match(/"snowflake\.private\.key[^"]*\\?":\\?"[^"\\]*/g)).toEqual([
      '"snowflake.private.key\\":\\"${secretsmanager:streaming/warehouse/snowflake-key:privateKey}',
      '"snowflake.private.key.passphrase\\":\\"${secretsmanager:streaming/warehouse/snowflake-key:passphrase}',
    ]);
  });
});

describe('a secret encrypted with a customer-managed key', () => {
  test('the role may decrypt with that key, through Secrets Manager only', () => {
    const synth = synthEnvironment(
      'dev',
      withSnowflake('dev', { ...TEST_SNOWFLAKE_ACCOUNT, privateKeySecretKeyArn: KEY_ARN }),
    );
    const policies = Object.values(
      (synth.warehouse!.toJSON() as { Resources: Record<string, Resource> }).Resources,
    ).filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes('SnowflakeSinkRole'),
    );
    const statements = (readable(policies[0]!.Properties.PolicyDocument) as { Statement: unknown[] })
      .Statement;
    expect(statements.filter((s) => JSON.stringify(s).includes('kms:'))).toEqual([
      {
        Action: 'kms:Decrypt',
        Condition: {
          StringEquals: {
            'kms:ViaService': {
              'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
            },
          },
        },
        Effect: 'Allow',
        Resource: KEY_ARN,
      },
    ]);
  });
});

describe('synth checks of environments.<env>.warehouse: each error names the key and the allowed form or range', () => {
  const invalid = (overrides: Record<string, unknown>) => () => configFor('dev', overrides);
  const account = TEST_SNOWFLAKE_ACCOUNT;
  const buffer = { countRecords: 10000, sizeBytes: 20000000, flushTimeSeconds: 10, maxClientLagSeconds: 1 };

  test.each([
    [
      'an account URL that is not Snowflake',
      withSnowflake('dev', { ...account, accountUrl: 'myorg.snowflake.com' }),
      'environments.dev.warehouse.snowflake.accountUrl: must be <account identifier>.snowflakecomputing.com, optionally with https:// and :443, e.g. myorg-myaccount.snowflakecomputing.com (got "myorg.snowflake.com")',
    ],
    [
      'a role that is not an identifier',
      withSnowflake('dev', { ...account, role: 'KAFKA ROLE' }),
      'environments.dev.warehouse.snowflake.role: must be an unquoted Snowflake identifier: a letter or _, then letters, digits, _ or $, at most 255 characters (got "KAFKA ROLE")',
    ],
    [
      'another ingestion method',
      withSnowflake('dev', { ...account, ingestionMethod: 'SNOWPIPE' }),
      'environments.dev.warehouse.snowflake.ingestionMethod: must be SNOWPIPE_STREAMING, the only method the platform runs (got "SNOWPIPE")',
    ],
    [
      'a secret ARN without its suffix',
      withSnowflake('dev', {
        ...account,
        privateKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:key',
      }),
      'environments.dev.warehouse.snowflake.privateKeySecretArn: must be the complete ARN of a Secrets Manager secret (ending in -XXXXXX)',
    ],
    [
      'the key itself in the configuration',
      withSnowflake('dev', { ...account, privateKey: 'not here' }),
      'environments.dev.warehouse.snowflake: Unrecognized key: "privateKey"',
    ],
    [
      'a buffer below the plugin minimum',
      withSnowflake('dev', account, { buffer: { ...buffer, countRecords: 0 } }),
      'environments.dev.warehouse.buffer.countRecords: must be an integer 1..1000000 records (got 0)',
    ],
    [
      'a flush time above the platform maximum',
      withSnowflake('dev', account, { buffer: { ...buffer, flushTimeSeconds: 7200 } }),
      'environments.dev.warehouse.buffer.flushTimeSeconds: must be an integer 1..3600 seconds (got 7200)',
    ],
    [
      'more tasks than partitions of events.aggregates',
      withSnowflake('dev', account, {
        connector: {
          mcuCount: 1,
          minWorkers: 1,
          maxWorkers: 2,
          scaleOutCpuPercent: 80,
          scaleInCpuPercent: 20,
          tasksMax: 4,
        },
      }),
      'environments.dev.warehouse.connector.tasksMax: must be 1..3, the partitions of events.aggregates: a task reads whole partitions, so more tasks would sit idle (got 4)',
    ],
    [
      'an MCU count MSK Connect does not offer',
      withSnowflake('dev', account, {
        connector: {
          mcuCount: 3,
          minWorkers: 1,
          maxWorkers: 2,
          scaleOutCpuPercent: 80,
          scaleInCpuPercent: 20,
          tasksMax: 3,
        },
      }),
      "environments.dev.warehouse.connector.mcuCount: must be one of 1, 2, 4, 8 (MSK Connect's worker sizes)",
    ],
    [
      'a scale-in threshold above the scale-out one',
      withSnowflake('dev', account, {
        connector: {
          mcuCount: 1,
          minWorkers: 1,
          maxWorkers: 2,
          scaleOutCpuPercent: 50,
          scaleInCpuPercent: 60,
          tasksMax: 3,
        },
      }),
      'environments.dev.warehouse.connector.scaleInCpuPercent: must be below scaleOutCpuPercent 50 (got 60)',
    ],
  ])('%s', (_, overrides, message) => {
    expect(invalid(overrides)).toThrow(message);
  });
});

describe('plugin pinning', () => {
  test('the pom builds the version the code names (one upgrade = that version and SNOWFLAKE_CONNECTOR)', () => {
    const pom = readFileSync(join(SNOWFLAKE_PLUGIN_PROJECT_DIR, 'pom.xml'), 'utf8');
    expect([...pom.matchAll(/^\s*<snowflake\.connector\.version>([^<]+)</gm)].map((m) => m[1])).toEqual([
      SNOWFLAKE_CONNECTOR.version,
    ]);
    expect(SNOWFLAKE_CONNECTOR).toEqual({
      groupId: 'com.snowflake',
      artifactId: 'snowflake-kafka-connector',
      version: '2.5.0',
    });
  });

  test('the asset hash covers exactly the inputs of the ZIP: coordinates, poms, assembly, provider sources', () => {
    const provider = join(ROOT, 'connect', 'secrets-manager-config-provider');
    const expected = createHash('sha256').update('com.snowflake:snowflake-kafka-connector:2.5.0');
    for (const file of [
      join(SNOWFLAKE_PLUGIN_PROJECT_DIR, 'pom.xml'),
      join(SNOWFLAKE_PLUGIN_PROJECT_DIR, 'plugin-zip.xml'),
      join(provider, 'pom.xml'),
      ...execFileSync('find', [join(provider, 'src', 'main'), '-type', 'f'], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .sort(),
    ])
      expected.update(relative(SNOWFLAKE_PLUGIN_PROJECT_DIR, file)).update('\0').update(readFileSync(file));
    expect(snowflakePluginSourceHash()).toBe(expected.digest('hex'));
  });
});
