import { synthEnvironment } from '../support/synth';
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
