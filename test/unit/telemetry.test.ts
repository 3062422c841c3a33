/**
 * The telemetry stack (lib/stacks/telemetry-stack.ts): the lake bucket and its access-log bucket,
 * the Glue table with partition projection, the Athena workgroup, the Managed Flink application and
 * its start resource. Data-protecting settings are compared whole with values written here.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { topicName } from '../../lib/topics/topic-specs';
import { cdkJsonContext, synthEnvironment } from '../support/synth';
import { ASSET_BUCKET_ARN } from '../support/readable';

/** The stack's only resource of a type: its properties. */
function only(t: Template, type: string): Record<string, unknown> {
  const found = Object.values(t.findResources(type)) as { Properties: Record<string, unknown> }[];
  expect(found).toHaveLength(1);
  return found[0]!.Properties;
}

function bucketsOf(t: Template) {
  const buckets = Object.entries(t.findResources('AWS::S3::Bucket')) as [
    string,
    { Properties: Record<string, unknown>; DeletionPolicy?: string },
  ][];
  const lake = buckets.find(([id]) => id.startsWith('LakeBucket'))!;
  const logs = buckets.find(([id]) => id.startsWith('LakeAccessLogs'))!;
  return { lake: { id: lake[0], ...lake[1] }, logs: { id: logs[0], ...logs[1] } };
}

const KEY_ARN = {
  'Fn::GetStackOutput': expect.objectContaining({
    StackName: expect.stringMatching(/-streaming$/) as unknown,
    OutputName: expect.stringMatching(/^PublishOutputFnGetAttPlatformKey.*Arn/) as unknown,
  }) as unknown,
};
const BLOCK_ALL = {
  BlockPublicAcls: true,
  BlockPublicPolicy: true,
  IgnorePublicAcls: true,
  RestrictPublicBuckets: true,
};

describe.each([
  // env, IA, Glacier IR, expiry, noncurrent, access logs: cdk.json's telemetry.lake
  ['dev', 30, 90, 365, 7, 30],
  ['prod', 30, 180, undefined, 30, 365],
] as const)('the lake of %s', (envName, ia, glacier, expire, noncurrent, accessLogs) => {
  const { telemetry } = synthEnvironment(envName);
  const { lake, logs } = bucketsOf(telemetry);

  test('is encrypted with the platform key (SSE-KMS, bucket key), versioned, private, logged', () => {
    expect(lake.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: 'aws:kms',
            KMSMasterKeyID: {
              'Fn::GetStackOutput': {
                StackName: `streaming-${envName}-streaming`,
                Region: { Ref: 'AWS::Region' },
                OutputName: expect.stringMatching(/^PublishOutputFnGetAttPlatformKey.*Arn/) as unknown,
              },
            },
          },
        },
      ],
    });
    expect(lake.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(lake.Properties.PublicAccessBlockConfiguration).toEqual(BLOCK_ALL);
    expect(lake.Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logs.id },
      LogFilePrefix: 'lake/',
    });
  });

  test('has the lifecycle of telemetry.lake', () => {
    expect(lake.Properties.LifecycleConfiguration).toEqual({
      Rules: [
        {
          Id: 'sessions-tiering',
          Prefix: 'sessions/',
          Status: 'Enabled',
          Transitions: [
            { StorageClass: 'STANDARD_IA', TransitionInDays: ia },
            { StorageClass: 'GLACIER_IR', TransitionInDays: glacier },
          ],
          ...(expire === undefined ? {} : { ExpirationInDays: expire }),
        },
        { Id: 'athena-results-expiry', Prefix: 'athena-results/', Status: 'Enabled', ExpirationInDays: 30 },
        {
          Id: 'versions-and-uploads',
          Status: 'Enabled',
          NoncurrentVersionExpiration: { NoncurrentDays: noncurrent },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
          ExpiredObjectDeleteMarker: true,
        },
      ],
    });
  });

  test('the access-log bucket is SSE-S3 (log delivery cannot use SSE-KMS), versioned, private, expiring', () => {
    expect(logs.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(logs.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(logs.Properties.PublicAccessBlockConfiguration).toEqual(BLOCK_ALL);
    expect(logs.Properties.LifecycleConfiguration).toEqual({
      Rules: [
        {
          Id: 'expire-access-logs',
          Status: 'Enabled',
          ExpirationInDays: accessLogs,
          NoncurrentVersionExpiration: { NoncurrentDays: 1 },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
      ],
    });
  });

  test.each(['lake', 'logs'] as const)('the %s bucket refuses requests without TLS', (which) => {
    const id = which === 'lake' ? lake.id : logs.id;
    const policy = Object.values(telemetry.findResources('AWS::S3::BucketPolicy')).find(
      (p) =>
        JSON.stringify((p as { Properties: { Bucket: unknown } }).Properties.Bucket) ===
        JSON.stringify({ Ref: id }),
    ) as { Properties: { PolicyDocument: { Statement: unknown[] } } };
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual({
      Action: 's3:*',
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Resource: [{ 'Fn::GetAtt': [id, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, '/*']] }],
    });
  });
});

describe('the Glue table and the Athena workgroup (dev)', () => {
  const { telemetry } = synthEnvironment('dev');
  const lakeId = bucketsOf(telemetry).lake.id;
  const s3Url = (suffix: string) => ({ 'Fn::Join': ['', ['s3://', { Ref: lakeId }, suffix]] });

  test('the database has a stable name analysts type', () => {
    expect(only(telemetry, 'AWS::Glue::Database')).toEqual({
      CatalogId: { Ref: 'AWS::AccountId' },
      DatabaseInput: {
        Name: 'streaming_dev_telemetry',
        Description: 'streaming dev: the telemetry lake (docs/telemetry-path.md)',
      },
    });
  });

  test('sessions: external Parquet table with the session columns, partitioned dt/hr with projection', () => {
    const table = only(telemetry, 'AWS::Glue::Table') as { TableInput: Record<string, unknown> };
    expect(table).toMatchObject({
      CatalogId: { Ref: 'AWS::AccountId' },
      DatabaseName: 'streaming_dev_telemetry',
    });
    const input = table.TableInput as {
      StorageDescriptor: { Columns: { Name: string; Type: string }[] } & Record<string, unknown>;
      PartitionKeys: { Name: string; Type: string }[];
    } & Record<string, unknown>;
    expect(input.Name).toBe('sessions');
    expect(input.TableType).toBe('EXTERNAL_TABLE');
    // The contract's "Sessions in the lake", lower-cased as Athena reads names.
    expect(input.StorageDescriptor.Columns.map((c) => [c.Name, c.Type])).toEqual([
      ['deviceid', 'string'],
      ['sessionstart', 'timestamp'],
      ['sessionend', 'timestamp'],
      ['readings', 'bigint'],
      ['errorreadings', 'bigint'],
      ['temperaturemin', 'double'],
      ['temperaturemax', 'double'],
      ['temperatureavg', 'double'],
      ['humidityavg', 'double'],
      ['batterymin', 'double'],
    ]);
    expect(input.PartitionKeys.map((c) => [c.Name, c.Type])).toEqual([
      ['dt', 'string'],
      ['hr', 'string'],
    ]);
    expect({ ...input.StorageDescriptor, Columns: undefined }).toEqual({
      Columns: undefined,
      Location: s3Url('/sessions/'),
      InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
      SerdeInfo: {
        SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
        Parameters: { 'serialization.format': '1' },
      },
      Compressed: true,
    });
    expect(input.Parameters).toEqual({
      EXTERNAL: 'TRUE',
      classification: 'parquet',
      'parquet.compression': 'SNAPPY',
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy-MM-dd',
      'projection.dt.range': '2026-01-01,NOW',
      'projection.dt.interval': '1',
      'projection.dt.interval.unit': 'DAYS',
      'projection.hr.type': 'integer',
      'projection.hr.range': '0,23',
      'projection.hr.digits': '2',
      'storage.location.template': s3Url('/sessions/dt=${dt}/hr=${hr}/'),
    });
  });

  test('the workgroup enforces CMK-encrypted results under athena-results/', () => {
    expect(only(telemetry, 'AWS::Athena::WorkGroup')).toMatchObject({
      Name: 'streaming-dev-telemetry',
      RecursiveDeleteOption: true,
      State: 'ENABLED',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: {
          OutputLocation: s3Url('/athena-results/'),
          ExpectedBucketOwner: { Ref: 'AWS::AccountId' },
          EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: KEY_ARN },
        },
      },
    });
  });
});

describe.each([
  ['dev', 1, 1, false],
  ['staging', 2, 1, false],
  ['prod', 4, 1, true],
] as const)('the sessionize application in %s', (envName, parallelism, perKpu, autoScaling) => {
  const synth = synthEnvironment(envName);
  const { telemetry } = synth;
  const app = only(telemetry, 'AWS::KinesisAnalyticsV2::Application') as {
    ApplicationConfiguration: Record<string, unknown>;
  } & Record<string, unknown>;
  const config = app.ApplicationConfiguration as Record<string, Record<string, unknown>>;

  test('runs FLINK-2_2 under a fixed name, from the jar asset', () => {
    expect(app.RuntimeEnvironment).toBe('FLINK-2_2');
    expect(app.ApplicationName).toBe(`streaming-${envName}-sessionize`);
    expect(config.ApplicationCodeConfiguration).toEqual({
      CodeContentType: 'ZIPFILE',
      CodeContent: {
        S3ContentLocation: {
          // The CDK bootstrap's asset bucket, and the jar under its source hash (`.jar` when bundled;
          // these tests skip bundling, and an unbundled asset is staged as its folder, `.zip`).
          BucketARN: ASSET_BUCKET_ARN,
          FileKey: expect.stringMatching(/^[0-9a-f]{64}\.(jar|zip)$/) as unknown,
        },
      },
    });
  });

  test('checkpoints, snapshots, rollback and the parallelism of the environment', () => {
    expect(config.FlinkApplicationConfiguration).toEqual({
      CheckpointConfiguration: {
        ConfigurationType: 'CUSTOM',
        CheckpointingEnabled: true,
        CheckpointInterval: 60000,
        MinPauseBetweenCheckpoints: 5000,
      },
      MonitoringConfiguration: expect.objectContaining({ ConfigurationType: 'CUSTOM' }) as unknown,
      ParallelismConfiguration: {
        ConfigurationType: 'CUSTOM',
        Parallelism: parallelism,
        ParallelismPerKPU: perKpu,
        AutoScalingEnabled: autoScaling,
      },
    });
    expect(config.ApplicationSnapshotConfiguration).toEqual({ SnapshotsEnabled: true });
    expect(config.ApplicationSystemRollbackConfiguration).toEqual({ RollbackEnabled: true });
    expect(app.RunConfiguration).toEqual({
      ApplicationRestoreConfiguration: { ApplicationRestoreType: 'RESTORE_FROM_LATEST_SNAPSHOT' },
      FlinkRunConfiguration: { AllowNonRestoredState: false },
    });
  });

  test('runs in the private subnets with the flink security group only', () => {
    const vpc = (
      config.VpcConfigurations as unknown as { SubnetIds: unknown[]; SecurityGroupIds: unknown[] }[]
    )[0]!;
    expect(vpc.SecurityGroupIds).toEqual([
      {
        'Fn::GetStackOutput': expect.objectContaining({
          OutputName: expect.stringContaining('flinkSg') as unknown,
        }) as unknown,
      },
    ]);
    expect(JSON.stringify(vpc.SubnetIds)).not.toContain('public');
    expect(vpc.SubnetIds).toHaveLength(synth.stacks.network.availabilityZones.length);
  });
});

describe('the sessionize application in dev: properties, logging, start', () => {
  const { telemetry } = synthEnvironment('dev');
  const app = only(telemetry, 'AWS::KinesisAnalyticsV2::Application') as {
    ApplicationConfiguration: {
      EnvironmentProperties: unknown;
      FlinkApplicationConfiguration: Record<string, unknown>;
    };
  };

  test('the property group sessionize holds exactly the expected properties', () => {
    expect(app.ApplicationConfiguration.EnvironmentProperties).toEqual({
      PropertyGroups: [
        {
          PropertyGroupId: 'sessionize',
          PropertyMap: {
            'source.topic': topicName('telemetryRaw'),
            'source.group-id': `sessionize-${topicName('telemetryRaw')}`,
            'dlq.topic': topicName('dlqSessionize'),
            'dlq.consumer': 'sessionize',
            // telemetry.raw's 1 MiB plus the dead-letter headroom of 256 KiB
            'dlq.max-request-bytes': '1310720',
            'alerts.topic': topicName('telemetryAlerts'),
            'kafka.bootstrap-servers': {
              'Fn::GetStackOutput': expect.objectContaining({
                StackName: 'streaming-dev-streaming',
                OutputName: expect.stringContaining('BootstrapBrokerStringSaslIam') as unknown,
              }) as unknown,
            },
            'kafka.security-protocol': 'SASL_SSL',
            'kafka.sasl-mechanism': 'AWS_MSK_IAM',
            'kafka.sasl-jaas-config': 'software.amazon.msk.auth.iam.IAMLoginModule required;',
            'kafka.sasl-callback-handler': 'software.amazon.msk.auth.iam.IAMClientCallbackHandler',
            'lake.path': { 'Fn::Join': ['', ['s3://', { Ref: bucketsOf(telemetry).lake.id }, '/sessions']] },
            'session.gap.interval': '0 00:05:00',
            'watermark.out-of-orderness.interval': '0 00:00:30',
            'source.idle-timeout.seconds': '60',
            'reading.max-future-skew.seconds': '300',
            'dedupe.state.minutes': '60',
            'alert.temperature-high.celsius': '70',
            'alert.battery-low.percent': '10',
            'alert.session-errors.readings': '5',
            'alert.silence.interval': '0 00:30:00',
            'alert.silence.seconds': '1800',
          },
        },
      ],
    });
    expect(app.ApplicationConfiguration.FlinkApplicationConfiguration.MonitoringConfiguration).toEqual({
      ConfigurationType: 'CUSTOM',
      LogLevel: 'INFO',
      MetricsLevel: 'APPLICATION',
    });
  });

  test('the logging option names the stream of a CMK-encrypted log group with 14 days retention', () => {
    const groups = Object.entries(telemetry.findResources('AWS::Logs::LogGroup')).filter(([id]) =>
      id.startsWith('SessionizeLogs'),
    ) as [string, { Properties: Record<string, unknown> }][];
    expect(groups).toHaveLength(1);
    const [groupId, group] = groups[0]!;
    expect({ ...group.Properties, Tags: undefined }).toEqual({
      KmsKeyId: KEY_ARN,
      RetentionInDays: 14,
      Tags: undefined,
    });
    const stream = Object.keys(telemetry.findResources('AWS::Logs::LogStream'))[0]!;
    expect(only(telemetry, 'AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption')).toEqual({
      ApplicationName: {
        Ref: Object.keys(telemetry.findResources('AWS::KinesisAnalyticsV2::Application'))[0],
      },
      CloudWatchLoggingOption: {
        LogStreamARN: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':logs:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':log-group:',
              { Ref: groupId },
              ':log-stream:',
              { Ref: stream },
            ],
          ],
        },
      },
    });
  });

  test('the start resource follows the application and its logging option, polled by the provider', () => {
    const [id, start] = Object.entries(telemetry.findResources('Custom::FlinkApplicationStart'))[0] as [
      string,
      { Properties: Record<string, unknown>; DependsOn: string[] },
    ];
    expect(id).toMatch(/^SessionizeStart/);
    expect(start.Properties.ApplicationName).toEqual({
      Ref: Object.keys(telemetry.findResources('AWS::KinesisAnalyticsV2::Application'))[0],
    });
    expect(start.DependsOn).toEqual([
      Object.keys(telemetry.findResources('AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption'))[0],
    ]);
    // What isComplete expects the running application to have (a rolled-back update fails).
    const code = (
      app.ApplicationConfiguration as unknown as {
        ApplicationCodeConfiguration: { CodeContent: { S3ContentLocation: { FileKey: string } } };
      }
    ).ApplicationCodeConfiguration.CodeContent.S3ContentLocation;
    expect(start.Properties.CodeFileKey).toMatch(/^[0-9a-f]{64}\.(jar|zip)$/);
    expect(start.Properties.CodeFileKey).toBe(code.FileKey);
    expect(start.Properties.RuntimeEnvironment).toBe('FLINK-2_2');
    expect(start.Properties.PropertyGroups).toEqual({
      sessionize: (
        app.ApplicationConfiguration.EnvironmentProperties as { PropertyGroups: { PropertyMap: unknown }[] }
      ).PropertyGroups[0]!.PropertyMap,
    });
    telemetry.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    telemetry.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Starts the Managed Flink application streaming-dev-sessionize after create or update',
      Runtime: 'nodejs24.x',
    });
  });

  test('every input of the application is in the start resource (a change of it is an Update of both)', () => {
    // The custom resource gets the construct's (camelCase) keys, CloudFormation's are PascalCase
    // (ParallelismPerKPU): compared with the keys in lower case.
    const keys = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(keys)
        : v && typeof v === 'object' && !Object.keys(v).some((k) => k.startsWith('Fn::') || k === 'Ref')
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k.toLowerCase(), keys(x)]))
          : v;
    const start = only(telemetry, 'Custom::FlinkApplicationStart');
    const config = app.ApplicationConfiguration as unknown as Record<string, unknown>;
    const application = only(telemetry, 'AWS::KinesisAnalyticsV2::Application');
    expect(keys(start.VpcConfigurations)).toEqual(keys(config.VpcConfigurations));
    expect(keys(start.FlinkApplicationConfiguration)).toEqual(keys(config.FlinkApplicationConfiguration));
    expect(keys(start.RunConfiguration)).toEqual(keys(application.RunConfiguration));
  });

  test('a changed runtime property (telemetry.sessionGapSeconds) changes the start resource', () => {
    const environments = cdkJsonContext().environments as Record<string, Record<string, unknown>>;
    const dev = environments.dev!;
    const changed = synthEnvironment('dev', {
      environments: {
        ...environments,
        dev: { ...dev, telemetry: { ...(dev.telemetry as object), sessionGapSeconds: 600 } },
      },
    }).telemetry;
    const before = only(telemetry, 'Custom::FlinkApplicationStart') as {
      PropertyGroups: { sessionize: Record<string, unknown> };
    };
    const after = only(changed, 'Custom::FlinkApplicationStart') as typeof before;
    expect(before.PropertyGroups.sessionize['session.gap.interval']).toBe('0 00:05:00');
    expect(after.PropertyGroups.sessionize['session.gap.interval']).toBe('0 00:10:00');
    expect({ ...after.PropertyGroups.sessionize, 'session.gap.interval': undefined }).toEqual({
      ...before.PropertyGroups.sessionize,
      'session.gap.interval': undefined,
    });
  });

  test.each([
    ['latest', 'RESTORE_FROM_LATEST_SNAPSHOT', false],
    ['latest-allow-non-restored', 'RESTORE_FROM_LATEST_SNAPSHOT', true],
    ['skip', 'SKIP_RESTORE_FROM_SNAPSHOT', false],
  ] as const)(
    'telemetry.flink.restore %s: the run configuration and the start resource',
    (restore, restoreType, allow) => {
      const environments = cdkJsonContext().environments as Record<string, Record<string, unknown>>;
      const dev = environments.dev!;
      const devTelemetry = dev.telemetry as { flink: Record<string, unknown> };
      const t =
        restore === 'latest'
          ? telemetry
          : synthEnvironment('dev', {
              environments: {
                ...environments,
                dev: { ...dev, telemetry: { ...devTelemetry, flink: { ...devTelemetry.flink, restore } } },
              },
            }).telemetry;
      expect(
        (only(t, 'AWS::KinesisAnalyticsV2::Application') as { RunConfiguration: unknown }).RunConfiguration,
      ).toEqual({
        ApplicationRestoreConfiguration: { ApplicationRestoreType: restoreType },
        FlinkRunConfiguration: { AllowNonRestoredState: allow },
      });
      expect(only(t, 'Custom::FlinkApplicationStart').Restore).toBe(restore);
    },
  );

  test('the application name is published for the ops', () => {
    telemetry.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/streaming/dev/telemetry/sessionize-application',
      Value: { Ref: Object.keys(telemetry.findResources('AWS::KinesisAnalyticsV2::Application'))[0] },
    });
  });
});
