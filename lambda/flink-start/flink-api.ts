/**
 * The Managed Service for Apache Flink operations the start custom resource uses (AWS SDK v3
 * `@aws-sdk/client-kinesis-analytics-v2`), behind an interface so that its decisions are tested
 * against a fake (test/unit/flink-start.test.ts).
 */
import {
  DescribeApplicationCommand,
  KinesisAnalyticsV2Client,
  type KinesisAnalyticsV2ClientConfig,
  ListApplicationSnapshotsCommand,
  StartApplicationCommand,
} from '@aws-sdk/client-kinesis-analytics-v2';

/**
 * READY (created or stopped), STARTING, RUNNING, UPDATING, AUTOSCALING, STOPPING, FORCE_STOPPING,
 * DELETING, MAINTENANCE, ROLLING_BACK or ROLLED_BACK.
 */
export type ApplicationStatus = string;

/** How a start treats the application's snapshots (the API's ApplicationRestoreType). */
export type RestoreType = 'SKIP_RESTORE_FROM_SNAPSHOT' | 'RESTORE_FROM_LATEST_SNAPSHOT';

/** What DescribeApplication says of the application: its status and the version it has. */
export interface ApplicationState {
  readonly status: ApplicationStatus;
  /** ApplicationVersionId: a new one for every update (CloudFormation's, a rollback's). */
  readonly versionId?: number;
  /** The S3 key of the code (…CodeContentDescription.S3ApplicationCodeLocationDescription.FileKey). */
  readonly codeFileKey?: string;
  /** RuntimeEnvironment, e.g. FLINK-2_2. */
  readonly runtimeEnvironment?: string;
  /** The runtime properties, by property group id. */
  readonly propertyGroups: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** ApplicationVersionRolledBackFrom: the version a rollback (the service's or RollbackApplication) reverted. */
  readonly rolledBackFrom?: number;
}

export interface FlinkApi {
  /** DescribeApplication: the status and the version the application has. */
  describe(applicationName: string): Promise<ApplicationState>;
  /** True when the application has at least one snapshot in status READY. */
  hasReadySnapshot(applicationName: string): Promise<boolean>;
  /**
   * StartApplication with this restore type; state that no longer maps is dropped only with
   * `allowNonRestoredState` (telemetry.flink.restore `latest-allow-non-restored`).
   */
  start(applicationName: string, restore: RestoreType, allowNonRestoredState: boolean): Promise<void>;
}

/** The real API through the AWS SDK (the function's credentials; `config` for tests). */
export function flinkApi(config: KinesisAnalyticsV2ClientConfig = {}): FlinkApi {
  const client = new KinesisAnalyticsV2Client(config);
  return {
    async describe(applicationName) {
      const described = await client.send(
        new DescribeApplicationCommand({ ApplicationName: applicationName }),
      );
      const detail = described.ApplicationDetail;
      const status = detail?.ApplicationStatus;
      if (!detail || !status) throw new Error(`DescribeApplication ${applicationName} returned no status`);
      const configuration = detail.ApplicationConfigurationDescription;
      const propertyGroups: Record<string, Record<string, string>> = {};
      for (const group of configuration?.EnvironmentPropertyDescriptions?.PropertyGroupDescriptions ?? []) {
        if (group.PropertyGroupId) propertyGroups[group.PropertyGroupId] = { ...group.PropertyMap };
      }
      return {
        status,
        versionId: detail.ApplicationVersionId,
        codeFileKey:
          configuration?.ApplicationCodeConfigurationDescription?.CodeContentDescription
            ?.S3ApplicationCodeLocationDescription?.FileKey,
        runtimeEnvironment: detail.RuntimeEnvironment,
        propertyGroups,
        rolledBackFrom: detail.ApplicationVersionRolledBackFrom,
      };
    },
    async hasReadySnapshot(applicationName) {
      let nextToken: string | undefined;
      do {
        const page = await client.send(
          new ListApplicationSnapshotsCommand({
            ApplicationName: applicationName,
            Limit: 50,
            NextToken: nextToken,
          }),
        );
        if ((page.SnapshotSummaries ?? []).some((s) => s.SnapshotStatus === 'READY')) return true;
        nextToken = page.NextToken;
      } while (nextToken);
      return false;
    },
    async start(applicationName, restore, allowNonRestoredState) {
      await client.send(
        new StartApplicationCommand({
          ApplicationName: applicationName,
          RunConfiguration: {
            ApplicationRestoreConfiguration: { ApplicationRestoreType: restore },
            FlinkRunConfiguration: { AllowNonRestoredState: allowNonRestoredState },
          },
        }),
      );
    },
  };
}
