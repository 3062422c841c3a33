import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp, cdkJsonContext, configFor, synthEnvironment } from '../support/synth';
import { withSnowflake } from '../support/warehouse';

type CfnEntry = { Type: string; DeletionPolicy?: string; UpdateReplacePolicy?: string };

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

  test('data-bearing log groups are retained (broker logs, flow logs), and the network key that encrypts the network logs', () => {
    expect(new Set(deletionPolicies(network, 'AWS::Logs::LogGroup'))).toEqual(new Set(['Retain']));
    expect(deletionPolicies(network, 'AWS::KMS::Key')).toEqual(['Retain']);
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

  test('the network key is destroyed with the dev network stack, together with the log groups it encrypts, and that is announced', () => {
    const { network, stacks } = synthEnvironment('dev');
    expect(deletionPolicies(network, 'AWS::KMS::Key')).toEqual(['Delete']);
    expect(new Set(deletionPolicies(network, 'AWS::Logs::LogGroup'))).toEqual(new Set(['Delete']));
    expect(
      Annotations.fromStack(stacks.network).findWarning(
        '*',
        Match.stringLikeRegexp('the network key that encrypts them'),
      ),
    ).toHaveLength(1);
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

/**
 * Generic over resource types, so that a new store cannot slip through: every type in any template
 * of any environment (the warehouse stack included) is classified here by hand, and every resource of
 * a data-holding type is retained on delete and on replacement, except where the environment's
 * configuration says it may destroy data, which its stack then announces in a synth warning.
 */
const DATA_TYPES: Record<string, string> = {
  'AWS::MSK::Cluster': 'the brokers and their storage',
  'AWS::MSK::Topic': 'the records',
  'AWS::KMS::Key': 'what every encrypted store needs to be read',
  'AWS::SecretsManager::Secret': 'credentials of retained stores',
  'AWS::DynamoDB::Table': 'consumer state and dedupe claims',
  'AWS::S3::Bucket': 'the lake, the bridge error documents, access logs',
  'AWS::OpenSearchService::Domain': 'the indexed aggregates',
  'AWS::RDS::DBInstance': 'the orders (a final snapshot counts as kept)',
  'AWS::Logs::LogGroup': 'logs are the audit trail',
  'AWS::Logs::LogStream': 'a log group stream',
};
/** Types that hold no data of their own: a new deploy recreates them whole. */
const NO_DATA_TYPES = [
  'AWS::ApiGateway::Account',
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::Method',
  'AWS::ApiGateway::Resource',
  'AWS::ApiGateway::RestApi',
  'AWS::ApiGateway::Stage',
  'AWS::Athena::WorkGroup',
  'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::Dashboard',
  'AWS::EC2::EIP',
  'AWS::EC2::FlowLog',
  'AWS::EC2::InternetGateway',
  'AWS::EC2::NatGateway',
  'AWS::EC2::Route',
  'AWS::EC2::RouteTable',
  'AWS::EC2::SecurityGroup',
  'AWS::EC2::SecurityGroupEgress',
  'AWS::EC2::SecurityGroupIngress',
  'AWS::EC2::Subnet',
  'AWS::EC2::SubnetRouteTableAssociation',
  'AWS::EC2::VPC',
  'AWS::EC2::VPCEndpoint',
  'AWS::EC2::VPCGatewayAttachment',
  // Metadata over the lake's files (partition projection): the data is in the bucket.
  'AWS::Glue::Database',
  'AWS::Glue::Table',
  'AWS::IAM::ManagedPolicy',
  'AWS::IAM::Policy',
  'AWS::IAM::Role',
  'AWS::IoT::Policy',
  'AWS::IoT::TopicRule',
  'AWS::IoT::TopicRuleDestination',
  'AWS::KMS::Alias',
  'AWS::KafkaConnect::CustomPlugin',
  'AWS::KafkaConnect::WorkerConfiguration',
  // Its running state: snapshots live and die with the application, which a retained copy would
  // keep running after its stack is gone; the sessions it wrote are in the retained lake.
  'AWS::KinesisAnalyticsV2::Application',
  'AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption',
  'AWS::KinesisFirehose::DeliveryStream',
  'AWS::Lambda::EventSourceMapping',
  'AWS::Lambda::Function',
  'AWS::Lambda::Permission',
  'AWS::Logs::ResourcePolicy',
  'AWS::MSK::BatchScramSecret',
  'AWS::MSK::Configuration',
  'AWS::RDS::DBParameterGroup',
  'AWS::RDS::DBSubnetGroup',
  'AWS::SNS::Topic',
  'AWS::SNS::TopicPolicy',
  'AWS::SSM::Parameter',
  'AWS::S3::BucketPolicy',
  'AWS::SecretsManager::ResourcePolicy',
  'AWS::SecretsManager::SecretTargetAttachment',
  'AWS::StepFunctions::StateMachine',
];
/** Custom resources act on other resources; none holds data itself. */
const isCustom = (type: string) => type.startsWith('Custom::');

describe.each(['dev', 'staging', 'prod'])('data safety in %s, generically over resource types', (envName) => {
  const config = configFor(envName);
  const { stacks } = buildApp(envName, withSnowflake(envName));
  const all = Object.values(stacks).map((stack) => ({
    stack,
    resources: Object.entries(
      (Template.fromStack(stack).toJSON() as { Resources: Record<string, CfnEntry> }).Resources,
    ),
  }));

  test('every resource type is classified by hand (a new one must be added to a list above)', () => {
    const types = new Set(all.flatMap(({ resources }) => resources.map(([, r]) => r.Type)));
    const unclassified = [...types].filter(
      (t) => !(t in DATA_TYPES) && !NO_DATA_TYPES.includes(t) && !isCustom(t),
    );
    expect(unclassified).toEqual([]);
  });

  test(
    config.removeDataOnDestroy
      ? 'a store that is not retained sits in a stack that warns of it'
      : 'every store is retained on delete and on replacement',
    () => {
      const destroyed = all.flatMap(({ stack, resources }) =>
        resources
          .filter(([, r]) => r.Type in DATA_TYPES)
          .filter(([, r]) => {
            const kept = r.Type === 'AWS::RDS::DBInstance' ? ['Retain', 'Snapshot'] : ['Retain'];
            return (
              !kept.includes(r.DeletionPolicy ?? 'Delete') ||
              !kept.includes(r.UpdateReplacePolicy ?? 'Delete')
            );
          })
          .map(([id, r]) => ({ stack, id, type: r.Type })),
      );
      if (!config.removeDataOnDestroy) {
        expect(destroyed.map(({ stack, id }) => `${stack.stackName}/${id}`)).toEqual([]);
        return;
      }
      expect(destroyed.length).toBeGreaterThan(0);
      const unannounced = [...new Set(destroyed.map(({ stack }) => stack))].filter(
        (stack) =>
          Annotations.fromStack(stack).findWarning(
            '*',
            Match.stringLikeRegexp(`^${envName}: removeDataOnDestroy is true, so `),
          ).length !== 1,
      );
      expect(unannounced.map((s) => s.stackName)).toEqual([]);
    },
  );
});
