import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { NagSuppressions } from '../private/nag';
import { SESSION_COLUMNS, SESSION_PARTITION_KEYS } from './session-columns';

/** The lake's prefixes (docs/telemetry-path.md, "Lake and Athena"). */
export const LAKE_PREFIXES = {
  /** The sessionize job's Parquet files: `sessions/dt=YYYY-MM-DD/hr=HH/`. */
  sessions: 'sessions/',
  /** Query results of the platform's Athena workgroup. */
  athenaResults: 'athena-results/',
} as const;

/**
 * The first day partition projection enumerates (`projection.dt.range` = `<this>,NOW`). Fixed, not
 * the deploy date: a template that changes with the clock would update the table at every deploy.
 * No session of the platform starts before it.
 */
export const PROJECTION_START_DATE = '2026-01-01';

/**
 * Incomplete multipart uploads are aborted this many days after they start. Flink's S3 writer keeps a
 * part file's multipart upload open until the checkpoint that commits it, and a checkpoint or
 * snapshot records the open upload: restoring it (a restart, an update, a start from the latest
 * snapshot) completes that upload. Aborting after a few hours would make a snapshot taken at a stop
 * unrestorable (its pending files gone); a week covers a job stopped over a long weekend and
 * restarted from its snapshot, while leaked parts (a failed task's upload) are still cleaned up.
 */
export const ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS = 7;

/** Athena query results are working copies: kept long enough to download, then expired. */
export const ATHENA_RESULTS_EXPIRE_AFTER_DAYS = 30;

export interface SessionLakeProps {
  readonly config: EnvironmentConfig;
  /** The platform key: the lake's objects (SSE-KMS, bucket key) and the Athena results. */
  readonly key: kms.IKey;
}

/**
 * The telemetry lake: the sessions bucket (SSE-KMS with the platform key, versioned, TLS only, no
 * public access, server access logs to a bucket of its own), its lifecycle from
 * `telemetry.lake`, the Glue database and `sessions` table with partition projection (Athena reads
 * new partitions without a crawler or MSCK REPAIR), and the platform's Athena workgroup, whose
 * results land encrypted in the lake under `athena-results/`.
 */
export class SessionLake extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly accessLogBucket: s3.Bucket;
  public readonly database: glue.CfnDatabase;
  public readonly table: glue.CfnTable;
  public readonly workGroup: athena.CfnWorkGroup;
  /** What analysts type: `<platform>_<env>_telemetry`. */
  public readonly databaseName: string;
  public readonly tableName = 'sessions';
  /** `<platform>-<env>-telemetry`. */
  public readonly workGroupName: string;
  /** `s3://<bucket>/sessions`: the job's `lake.path`. */
  public readonly sessionsPath: string;
  /** Attach to an analyst's role or group: query the sessions table through the workgroup. */
  public readonly queryPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: SessionLakeProps) {
    super(scope, id);
    const { config, key } = props;
    const { lake } = config.telemetry;
    const destroy = config.removeDataOnDestroy;
    const removalPolicy = destroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    // S3 server access logging supports SSE-S3 only as the target bucket's default encryption
    // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(lake.accessLogsExpireAfterDays),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
      autoDeleteObjects: destroy,
    });
    NagSuppressions.addResourceSuppressions(this.accessLogBucket, [
      {
        id: 'AwsSolutions-S1',
        reason: 'This is the server access log bucket of the lake; logging it again would recurse.',
      },
    ]);

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'lake/',
      lifecycleRules: [
        {
          id: 'sessions-tiering',
          prefix: LAKE_PREFIXES.sessions,
          transitions: [
            {
              storageClass: s3.StorageClass.INFREQUENT_ACCESS,
              transitionAfter: Duration.days(lake.infrequentAccessAfterDays),
            },
            {
              storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: Duration.days(lake.glacierAfterDays),
            },
          ],
          ...(lake.expireAfterDays !== undefined ? { expiration: Duration.days(lake.expireAfterDays) } : {}),
        },
        {
          id: 'athena-results-expiry',
          prefix: LAKE_PREFIXES.athenaResults,
          expiration: Duration.days(ATHENA_RESULTS_EXPIRE_AFTER_DAYS),
        },
        {
          id: 'versions-and-uploads',
          noncurrentVersionExpiration: Duration.days(lake.noncurrentVersionsExpireAfterDays),
          abortIncompleteMultipartUploadAfter: Duration.days(ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS),
          expiredObjectDeleteMarker: true,
        },
      ],
      removalPolicy,
      autoDeleteObjects: destroy,
    });
    const bucketName = this.bucket.bucketName;
    this.sessionsPath = `s3://${bucketName}/${LAKE_PREFIXES.sessions.slice(0, -1)}`;
    const ids = `${config.platformName}_${config.envName}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
    this.databaseName = `${ids}_telemetry`;
    this.workGroupName = `${config.platformName}-${config.envName}-telemetry`;

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: {
        name: this.databaseName,
        description: `${config.platformName} ${config.envName}: the telemetry lake (docs/telemetry-path.md)`,
      },
    });

    this.table = new glue.CfnTable(this, 'SessionsTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: this.tableName,
        description: 'One row per closed device session, written by the sessionize job (Parquet, Snappy)',
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          EXTERNAL: 'TRUE',
          classification: 'parquet',
          'parquet.compression': 'SNAPPY',
          // Partition projection: Athena computes the partitions from these rules, so a new
          // dt/hr prefix is queryable as soon as the job commits a file into it.
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': `${PROJECTION_START_DATE},NOW`,
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'DAYS',
          'projection.hr.type': 'integer',
          'projection.hr.range': '0,23',
          'projection.hr.digits': '2',
          'storage.location.template': `s3://${bucketName}/${LAKE_PREFIXES.sessions}dt=\${dt}/hr=\${hr}/`,
        },
        partitionKeys: SESSION_PARTITION_KEYS.map((c) => ({
          name: c.name,
          type: c.glueType,
          comment: c.comment,
        })),
        storageDescriptor: {
          location: `s3://${bucketName}/${LAKE_PREFIXES.sessions}`,
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
            parameters: { 'serialization.format': '1' },
          },
          compressed: true,
          // Athena lower-cases every name it reads (and matches Parquet columns by name, ignoring case):
          // the catalog holds the lower-case form, so that Glue and Athena show one spelling.
          columns: SESSION_COLUMNS.map((c) => ({
            name: c.name.toLowerCase(),
            type: c.glueType,
            comment: c.comment,
          })),
        },
      },
    });
    this.table.node.addDependency(this.database);

    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: `${config.platformName} ${config.envName}: queries of the telemetry lake; results encrypted in the lake`,
      state: 'ENABLED',
      // The workgroup holds no data (results live in the lake): deleting it deletes its saved queries.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${bucketName}/${LAKE_PREFIXES.athenaResults}`,
          expectedBucketOwner: Aws.ACCOUNT_ID,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: key.keyArn },
        },
      },
    });

    this.queryPolicy = this.renderQueryPolicy(key);
  }

  /**
   * What a principal needs to query the sessions table through the workgroup: run queries there,
   * read the table's metadata, read `sessions/`, read and write `athena-results/`, and use the key
   * through S3 only.
   */
  private renderQueryPolicy(key: kms.IKey): iam.ManagedPolicy {
    const stack = Stack.of(this);
    const glueArn = (resource: string) =>
      stack.formatArn({ service: 'glue', resource, resourceName: undefined });
    const policy = new iam.ManagedPolicy(this, 'QueryPolicy', {
      description: `Query ${this.databaseName}.${this.tableName} through the Athena workgroup ${this.workGroupName}`,
      statements: [
        new iam.PolicyStatement({
          sid: 'AthenaWorkGroup',
          actions: [
            'athena:GetWorkGroup',
            'athena:StartQueryExecution',
            'athena:StopQueryExecution',
            'athena:GetQueryExecution',
            'athena:GetQueryResults',
            'athena:GetQueryResultsStream',
            'athena:ListQueryExecutions',
          ],
          resources: [
            stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: this.workGroupName }),
          ],
        }),
        new iam.PolicyStatement({
          sid: 'GlueSessionsTable',
          actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
          resources: [
            glueArn('catalog'),
            `${glueArn('database')}/${this.databaseName}`,
            `${glueArn('table')}/${this.databaseName}/${this.tableName}`,
          ],
        }),
        new iam.PolicyStatement({
          sid: 'ListLake',
          actions: ['s3:ListBucket', 's3:GetBucketLocation'],
          resources: [this.bucket.bucketArn],
        }),
        new iam.PolicyStatement({
          sid: 'ReadSessions',
          actions: ['s3:GetObject'],
          resources: [this.bucket.arnForObjects(`${LAKE_PREFIXES.sessions}*`)],
        }),
        new iam.PolicyStatement({
          sid: 'WriteResults',
          actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          resources: [this.bucket.arnForObjects(`${LAKE_PREFIXES.athenaResults}*`)],
        }),
        new iam.PolicyStatement({
          sid: 'KeyViaS3',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` } },
        }),
      ],
    });
    NagSuppressions.addResourceSuppressions(policy, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Objects under the two lake prefixes an analyst reads (sessions/) and writes (athena-results/): the wildcard is the object key below the prefix.',
        appliesTo: [{ regex: '/^Resource::<.*Bucket.*\\.Arn>/(sessions|athena-results)/\\*$/g' }],
      },
    ]);
    return policy;
  }
}
