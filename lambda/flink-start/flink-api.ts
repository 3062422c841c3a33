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

export interface FlinkApi {
  /** The application's status. */
  status(applicationName: string): Promise<ApplicationStatus>;
  /** True when the application has at least one snapshot in status READY. */
  hasReadySnapshot(applicationName: string): Promise<boolean>;
  /** StartApplication with this restore type (state that no longer maps is never dropped). */
  start(applicationName: string, restore: RestoreType): Promise<void>;
}

/** The real API through the AWS SDK (the function's credentials; `config` for tests). */
export function flinkApi(config: KinesisAnalyticsV2ClientConfig = {}): FlinkApi {
  const client = new KinesisAnalyticsV2Client(config);
  return {
    async status(applicationName) {
      const described = await client.send(
        new DescribeApplicationCommand({ ApplicationName: applicationName }),
      );
      const status = described.ApplicationDetail?.ApplicationStatus;
      if (!status) throw new Error(`DescribeApplication ${applicationName} returned no status`);
      return status;
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
    async start(applicationName, restore) {
      await client.send(
        new StartApplicationCommand({
          ApplicationName: applicationName,
          RunConfiguration: {
            ApplicationRestoreConfiguration: { ApplicationRestoreType: restore },
            FlinkRunConfiguration: { AllowNonRestoredState: false },
          },
        }),
      );
    },
  };
}
