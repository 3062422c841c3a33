import { cdkJsonContext, synthEnvironment } from '../support/synth';
import { withSnowflake } from '../support/warehouse';
import type { Template } from 'aws-cdk-lib/assertions';

/** Resource types that hold data or protect it. */
const STATEFUL = ['AWS::MSK::Cluster', 'AWS::MSK::Topic', 'AWS::KMS::Key', 'AWS::SecretsManager::Secret'];

function deletionPolicies(t: Template, type: string): string[] {
  return Object.values(t.findResources(type)).map(
    (r) => (r as { DeletionPolicy?: string }).DeletionPolicy ?? 'Delete',
  );
}

describe('prod retains every stateful resource', () => {
  const { network, streaming } = synthEnvironment('prod');

  test.each(STATEFUL)('%s is retained', (type) => {
    const policies = deletionPolicies(streaming, type);
    expect(policies.length).toBeGreaterThan(0);
    expect(new Set(policies)).toEqual(new Set(['Retain']));
  });

  test('data-bearing log groups are retained (broker logs, flow logs)', () => {
    expect(new Set(deletionPolicies(network, 'AWS::Logs::LogGroup'))).toEqual(new Set(['Retain']));
    const broker = Object.values(streaming.findResources('AWS::Logs::LogGroup')).find(
      (r) =>
        (r as { Properties: { LogGroupName?: string } }).Properties.LogGroupName ===
        '/aws/msk/streaming-prod',
    ) as { DeletionPolicy: string };
    expect(broker.DeletionPolicy).toBe('Retain');
  });
});

describe("prod keeps the sources' data", () => {
  const { sources } = synthEnvironment('prod');

  test('the orders database leaves a snapshot and is deletion-protected', () => {
    expect(deletionPolicies(sources, 'AWS::RDS::DBInstance')).toEqual(['Snapshot']);
    sources.hasResourceProperties('AWS::RDS::DBInstance', { DeletionProtection: true });
  });

  test('the bridge buckets and every log group are retained', () => {
    expect(new Set(deletionPolicies(sources, 'AWS::S3::Bucket'))).toEqual(new Set(['Retain']));
    expect(new Set(deletionPolicies(sources, 'AWS::Logs::LogGroup'))).toEqual(new Set(['Retain']));
  });
});

describe("prod keeps the warehouse's logs (with a test Snowflake account)", () => {
  const { warehouse } = synthEnvironment('prod', withSnowflake('prod'));

  test('every log group (the workers and the connector functions) is retained', () => {
    const policies = deletionPolicies(warehouse!, 'AWS::Logs::LogGroup');
    expect(policies.length).toBeGreaterThan(0);
    expect(new Set(policies)).toEqual(new Set(['Retain']));
  });
});

describe("prod keeps the events path's data", () => {
  const { events } = synthEnvironment('prod');

  test.each(['AWS::DynamoDB::Table', 'AWS::OpenSearchService::Domain', 'AWS::Logs::LogGroup'])(
    '%s is retained',
    (type) => {
      const policies = deletionPolicies(events, type);
      expect(policies.length).toBeGreaterThan(0);
      expect(new Set(policies)).toEqual(new Set(['Retain']));
    },
  );

  test('the state tables keep point-in-time recovery', () => {
    const tables = Object.values(events.findResources('AWS::DynamoDB::Table')) as {
      Properties: { PointInTimeRecoverySpecification?: unknown };
    }[];
    expect(tables.map((t) => t.Properties.PointInTimeRecoverySpecification)).toEqual([
      { PointInTimeRecoveryEnabled: true },
      { PointInTimeRecoveryEnabled: true },
    ]);
  });
});

describe('dev may destroy its data, but never its topics silently', () => {
  const { streaming } = synthEnvironment('dev');

  test('topics are retained even in dev', () => {
    expect(new Set(deletionPolicies(streaming, 'AWS::MSK::Topic'))).toEqual(new Set(['Retain']));
  });

  test('the cluster and its key are destroyed with the dev stack, and that is announced', () => {
    expect(deletionPolicies(streaming, 'AWS::MSK::Cluster')).toEqual(['Delete']);
    expect(deletionPolicies(streaming, 'AWS::KMS::Key')).toEqual(['Delete']);
  });
});

describe("prod keeps the telemetry path's data", () => {
  const { telemetry } = synthEnvironment('prod');

  test.each(['AWS::S3::Bucket', 'AWS::Logs::LogGroup', 'AWS::Logs::LogStream'])('%s is retained', (type) => {
    const policies = deletionPolicies(telemetry, type);
    expect(policies.length).toBeGreaterThan(0);
    expect(new Set(policies)).toEqual(new Set(['Retain']));
  });

  test('nothing empties a bucket on delete', () => {
    telemetry.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });
});

describe('dev destroys the telemetry data only because removeDataOnDestroy says so', () => {
  test('with the flag: the lake and access-log buckets are emptied and deleted, the log group deleted', () => {
    const { telemetry } = synthEnvironment('dev');
    expect(deletionPolicies(telemetry, 'AWS::S3::Bucket')).toEqual(['Delete', 'Delete']);
    telemetry.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
    const sessionizeLogs = Object.entries(telemetry.findResources('AWS::Logs::LogGroup'))
      .filter(([id]) => id.startsWith('SessionizeLogs'))
      .map(([, r]) => (r as { DeletionPolicy?: string }).DeletionPolicy);
    expect(sessionizeLogs).toEqual(['Delete']);
  });

  test('without it, dev retains them too', () => {
    const environments = cdkJsonContext().environments as Record<string, Record<string, unknown>>;
    const { telemetry } = synthEnvironment('dev', {
      environments: { ...environments, dev: { ...environments.dev, removeDataOnDestroy: false } },
    });
    expect(new Set(deletionPolicies(telemetry, 'AWS::S3::Bucket'))).toEqual(new Set(['Retain']));
    telemetry.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });
});
