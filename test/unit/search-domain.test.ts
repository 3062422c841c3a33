/**
 * The search domain construct in a test stack, per environment: the security-relevant properties
 * compared whole with hand-written expectations, and cdk-nag AwsSolutions with no unacknowledged
 * finding.
 */
import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SearchDomain } from '../../lib/events/search-domain';
import { cdkJsonContext, configFor } from '../support/synth';
import { UNSCOPED_VPC_FUNCTION_STATEMENTS } from '../support/platform-function-statements';

function build(envName: string) {
  const config = configFor(envName);
  const app = new App({
    context: {
      ...cdkJsonContext(),
      'aws:cdk:bundling-stacks': [],
      '@aws-cdk/core:annotationsInValidationReport': false,
    },
  });
  const stack = new Stack(app, 'Search', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 3, natGateways: 1 });
  const securityGroup = new ec2.SecurityGroup(stack, 'Sg', { vpc });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const writer = new iam.Role(stack, 'Writer', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  const search = new SearchDomain(stack, 'Search', {
    config,
    vpc,
    securityGroup,
    key,
    writerRoles: [writer],
  });
  Aspects.of(stack).add(new AwsSolutionsChecks({ verbose: true }));
  const template = Template.fromStack(stack);
  return { config, stack, search, template, writer, key, vpc };
}

const domainOf = (template: Template) => {
  const domains = template.findResources('AWS::OpenSearchService::Domain');
  expect(Object.keys(domains)).toHaveLength(1);
  return Object.values(domains)[0] as { Properties: Record<string, unknown>; DeletionPolicy?: string };
};

describe.each(['dev', 'prod'])('%s', (envName) => {
  const { config, stack, search, template, writer, key } = build(envName);
  const domain = domainOf(template);
  const p = domain.Properties;
  const domainName = `${config.platformName}-${envName}-events`;
  const domainPath = `arn:aws:es:eu-west-1:123456789012:domain/${domainName}/*`;
  const bulkPath = `arn:aws:es:eu-west-1:123456789012:domain/${domainName}/_bulk`;
  /** Every statement of every policy attached to the role. */
  const statementsOf = (role: iam.IRole) =>
    Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((r) =>
        (r as { Properties: { Roles: unknown[] } }).Properties.Roles.some(
          (ref) => JSON.stringify(ref) === JSON.stringify(stack.resolve(role.roleName)),
        ),
      )
      .flatMap(
        (r) =>
          (r as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument
            .Statement,
      );

  test('engine, encryption, HTTPS and TLS 1.2+', () => {
    expect(p.EngineVersion).toBe('OpenSearch_3.5');
    expect(p.EncryptionAtRestOptions).toEqual({ Enabled: true, KmsKeyId: stack.resolve(key.keyId) });
    expect(p.NodeToNodeEncryptionOptions).toEqual({ Enabled: true });
    expect(p.DomainEndpointOptions).toEqual({
      EnforceHTTPS: true,
      TLSSecurityPolicy: 'Policy-Min-TLS-1-2-PFS-2023-10',
    });
  });

  test('fine-grained access control: the set-up role is the master, no internal users', () => {
    expect(p.AdvancedSecurityOptions).toEqual({
      Enabled: true,
      InternalUserDatabaseEnabled: false,
      MasterUserOptions: { MasterUserARN: stack.resolve(search.setupFunction.role.roleArn) },
    });
  });

  test('the access policy admits only the writers and the set-up role, with their actions on this domain', () => {
    expect(stack.resolve(p.AccessPolicies)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AggregateWriters',
          Effect: 'Allow',
          Principal: { AWS: stack.resolve(writer.roleArn) },
          Action: 'es:ESHttpPost',
          Resource: bulkPath,
        },
        {
          Sid: 'SearchSetup',
          Effect: 'Allow',
          Principal: { AWS: stack.resolve(search.setupFunction.role.roleArn) },
          Action: ['es:ESHttpGet', 'es:ESHttpPut'],
          Resource: domainPath,
        },
      ],
    });
  });

  test('in the VPC, private subnets, one per AZ used, the given security group', () => {
    const vpcOptions = p.VPCOptions as { SubnetIds: unknown[]; SecurityGroupIds: unknown[] };
    expect(vpcOptions.SubnetIds).toHaveLength(envName === 'dev' ? 1 : 3);
    expect(vpcOptions.SecurityGroupIds).toHaveLength(1);
    expect((vpcOptions.SubnetIds as { Ref: string }[]).every((s) => s.Ref.includes('PrivateSubnet'))).toBe(
      true,
    );
  });

  test('sizing from config', () => {
    const s = config.events.opensearch;
    expect(p.ClusterConfig).toEqual({
      InstanceCount: s.dataNodes,
      InstanceType: s.dataNodeInstanceType,
      DedicatedMasterEnabled: s.dedicatedMasterNodes > 0,
      ...(s.dedicatedMasterNodes > 0
        ? { DedicatedMasterCount: s.dedicatedMasterNodes, DedicatedMasterType: s.dedicatedMasterInstanceType }
        : {}),
      MultiAZWithStandbyEnabled: s.multiAzWithStandby,
      ZoneAwarenessEnabled: envName !== 'dev',
      ...(envName !== 'dev' ? { ZoneAwarenessConfig: { AvailabilityZoneCount: 3 } } : {}),
    });
  });

  test('slow search, slow index and error logs in CMK-encrypted log groups with retention', () => {
    const publishing = p.LogPublishingOptions as Record<string, { Enabled: boolean }>;
    expect(Object.keys(publishing).sort()).toEqual([
      'ES_APPLICATION_LOGS',
      'INDEX_SLOW_LOGS',
      'SEARCH_SLOW_LOGS',
    ]);
    for (const o of Object.values(publishing)) expect(o.Enabled).toBe(true);
    const groups = template.findResources('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: config.events.opensearch.logRetentionDays },
    });
    const encrypted = Object.values(groups).filter(
      (g) =>
        JSON.stringify((g as { Properties: { KmsKeyId?: unknown } }).Properties.KmsKeyId) ===
        JSON.stringify(stack.resolve(key.keyArn)),
    );
    expect(encrypted).toHaveLength(3);
  });

  test('removal policy per config', () => {
    expect(domain.DeletionPolicy).toBe(config.removeDataOnDestroy ? 'Delete' : 'Retain');
  });

  test('the set-up role may only GET and PUT on this domain (besides its logs, X-Ray and network interfaces)', () => {
    const logs = template.findResources('AWS::Logs::LogGroup');
    const setupLogs = Object.keys(logs).filter((id) => id.startsWith('SearchSetupLogs'));
    expect(setupLogs).toHaveLength(1);
    expect(statementsOf(search.setupFunction.role)).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [setupLogs[0], 'Arn'] },
      },
      {
        Sid: 'SearchSetupRequests',
        Effect: 'Allow',
        Action: ['es:ESHttpGet', 'es:ESHttpPut'],
        Resource: domainPath,
      },
      ...UNSCOPED_VPC_FUNCTION_STATEMENTS,
    ]);
  });

  test('the writer role may only POST to _bulk on this domain', () => {
    expect(statementsOf(writer)).toEqual([
      { Sid: 'SearchBulkWrites', Effect: 'Allow', Action: 'es:ESHttpPost', Resource: bulkPath },
    ]);
  });

  test('the custom resource applies the set-up with the config and exactly the writer roles given', () => {
    const resources = Object.values(template.findResources('Custom::SearchSetup'));
    expect(resources).toHaveLength(1);
    const properties = (resources[0] as { Properties: Record<string, unknown> }).Properties;
    expect(properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [expect.stringMatching(/^SearchProviderframeworkonEvent/), 'Arn'] },
      Endpoint: stack.resolve(search.endpoint),
      IndexPrefix: 'events-aggregates',
      Shards: { dev: '1', prod: '6' }[envName],
      // dev: one node, no replica; prod: multi-AZ with standby, three copies of every shard.
      Replicas: { dev: '0', prod: '2' }[envName],
      RetentionDays: { dev: '30', prod: '400' }[envName],
      WriterRoleArns: { 'Fn::Join': ['', ['["', stack.resolve(writer.roleArn), '"]']] },
    });
  });

  test('cdk-nag AwsSolutions: no unacknowledged finding', () => {
    // The test stack's own VPC is not this construct's: only findings under the construct count.
    const errors = Annotations.fromStack(stack)
      .findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))
      .filter((e) => e.id.startsWith('/Search/Search/'));
    expect(errors.map((e) => `${e.id}: ${JSON.stringify(e.entry.data).slice(0, 80)}`)).toEqual([]);
  });
});
