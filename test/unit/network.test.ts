import { Match } from 'aws-cdk-lib/assertions';
import {
  COMPONENT_NAMES,
  COMPONENTS,
  componentGateways,
  componentUsesInterfaceEndpoints,
  MSK_PORTS,
} from '../../lib/network/components';
import { configFor, ENVIRONMENTS, synthEnvironment, type SynthesizedEnvironment } from '../support/synth';

type SgRule = {
  IpProtocol: string;
  FromPort: number;
  ToPort: number;
  CidrIp?: string;
  SourceSecurityGroupId?: unknown;
  DestinationSecurityGroupId?: unknown;
};

describe.each(ENVIRONMENTS)('network in %s', (envName) => {
  let synth: SynthesizedEnvironment;
  const config = configFor(envName);
  beforeAll(() => {
    synth = synthEnvironment(envName);
  });

  test('one public and one private subnet per AZ, AZs without a lookup', () => {
    const subnets = Object.values(synth.network.findResources('AWS::EC2::Subnet')) as {
      Properties: { AvailabilityZone: unknown };
    }[];
    expect(subnets).toHaveLength(config.network.maxAzs * 2);
    for (const s of subnets) expect(JSON.stringify(s.Properties.AvailabilityZone)).toContain('Fn::GetAZs');
    synth.network.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: config.network.cidr });
  });

  test('NAT gateways per environment', () => {
    synth.network.resourceCountIs('AWS::EC2::NatGateway', config.network.natGateways);
  });

  test('S3 and DynamoDB gateway endpoints and the interface endpoints', () => {
    synth.network.resourceCountIs('AWS::EC2::VPCEndpoint', 7);
    synth.network.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Interface',
      ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['.secretsmanager'])]) }),
      PrivateDnsEnabled: true,
    });
    for (const service of ['.sts', '.kms', '.logs', '.sns']) {
      synth.network.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([service])]) }),
      });
    }
    for (const service of ['.s3', '.dynamodb']) {
      synth.network.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Gateway',
        ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([service])]) }),
      });
    }
  });

  test('all VPC traffic is logged', () => {
    synth.network.hasResourceProperties('AWS::EC2::FlowLog', {
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
    });
    synth.network.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: config.network.flowLogRetentionDays,
    });
  });

  test("the network's log groups (flow logs, prefix-list lookup) are encrypted with the network's own key", () => {
    const keys = Object.keys(synth.network.findResources('AWS::KMS::Key'));
    expect(keys).toHaveLength(1);
    const groups = Object.values(synth.network.findResources('AWS::Logs::LogGroup')) as {
      Properties: { KmsKeyId?: unknown };
    }[];
    expect(groups.map((g) => g.Properties.KmsKeyId)).toEqual([
      { 'Fn::GetAtt': [keys[0], 'Arn'] },
      { 'Fn::GetAtt': [keys[0], 'Arn'] },
    ]);
  });

  test('the network key rotates yearly, follows the data rule, and only the account and CloudWatch Logs (for its log groups) may use it', () => {
    const key = Object.values(synth.network.findResources('AWS::KMS::Key'))[0] as {
      Properties: Record<string, unknown>;
      DeletionPolicy?: string;
      UpdateReplacePolicy?: string;
    };
    const kept = config.removeDataOnDestroy ? 'Delete' : 'Retain';
    expect([key.DeletionPolicy ?? 'Delete', key.UpdateReplacePolicy ?? 'Delete']).toEqual([kept, kept]);
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const join = (...parts: unknown[]) => ({ 'Fn::Join': ['', parts] });
    expect(key.Properties.KeyPolicy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: {
            AWS: join('arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root'),
          },
          Action: 'kms:*',
          Resource: '*',
        },
        {
          Sid: 'CloudWatchLogsInThisAccount',
          Effect: 'Allow',
          Principal: { Service: join('logs.', { Ref: 'AWS::Region' }, '.amazonaws.com') },
          Action: ['kms:Decrypt*', 'kms:Describe*', 'kms:Encrypt*', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
          Resource: '*',
          Condition: {
            ArnLike: {
              'kms:EncryptionContext:aws:logs:arn': join(
                'arn:',
                { Ref: 'AWS::Partition' },
                ':logs:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':log-group:*',
              ),
            },
          },
        },
      ],
    });
    synth.network.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: `alias/streaming-${envName}-network`,
    });
  });

  test('brokers accept clients only on their SASL listener, from component security groups', () => {
    const brokerSg = synth.stacks.network.resolve(
      synth.stacks.network.network.brokerSecurityGroup.securityGroupId,
    );
    const ingress = Object.values(synth.network.findResources('AWS::EC2::SecurityGroupIngress'))
      .map((r) => (r as { Properties: SgRule & { GroupId: unknown } }).Properties)
      .filter((p) => JSON.stringify(p.GroupId) === JSON.stringify(brokerSg));
    // One rule per component, and the event source mappings' rule from the brokers' own group.
    expect(ingress).toHaveLength(COMPONENT_NAMES.length + 1);
    for (const rule of ingress) {
      expect(rule.CidrIp).toBeUndefined();
      expect(rule.SourceSecurityGroupId).toBeDefined();
      expect([MSK_PORTS.iam, MSK_PORTS.scram]).toContain(rule.FromPort);
      expect(rule.ToPort).toBe(rule.FromPort);
    }
    const scram = ingress.filter((r) => r.FromPort === MSK_PORTS.scram);
    expect(scram).toHaveLength(COMPONENT_NAMES.filter((c) => COMPONENTS[c].auth === 'scram').length);
  });

  test('no security group is open to the internet, none allows all outbound', () => {
    const groups = Object.values(synth.network.findResources('AWS::EC2::SecurityGroup')) as {
      Properties: { SecurityGroupIngress?: SgRule[]; SecurityGroupEgress?: SgRule[] };
    }[];
    for (const g of groups) {
      for (const rule of g.Properties.SecurityGroupIngress ?? []) expect(rule.CidrIp).not.toBe('0.0.0.0/0');
      for (const rule of g.Properties.SecurityGroupEgress ?? []) expect(rule.IpProtocol).not.toBe('-1');
    }
  });

  test('each component reaches the brokers on its port, the endpoints (unless it has none) and its gateways on 443, nothing else', () => {
    for (const name of COMPONENT_NAMES) {
      const sg = synth.stacks.network.resolve(
        synth.stacks.network.network.securityGroup(name).securityGroupId,
      );
      const egress = Object.values(synth.network.findResources('AWS::EC2::SecurityGroupEgress'))
        .map((r) => (r as { Properties: SgRule & { GroupId: unknown } }).Properties)
        .filter((p) => JSON.stringify(p.GroupId) === JSON.stringify(sg));
      // The aggregate function also reaches the search domain (network-exposure.test.ts has the rules).
      // The Flink application reaches no interface endpoint (network-exposure.test.ts has its rules).
      const expected = [
        MSK_PORTS[COMPONENTS[name].auth],
        ...(componentUsesInterfaceEndpoints(name) ? [443] : []),
        ...componentGateways(name).map(() => 443),
        ...(name === 'aggregate' ? [443] : []),
      ];
      expect(egress.map((e) => e.FromPort).sort()).toEqual(expected.sort());
    }
  });

  test('the default security group is stripped of its rules', () => {
    synth.network.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });
});
