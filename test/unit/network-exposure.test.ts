/**
 * Who can reach the brokers, read over every stack of an environment (a rule added from another
 * stack counts too), and compared whole with an expectation written here by hand.
 */
import type { CfnSecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { buildApp, ENVIRONMENTS } from '../support/synth';
import { environmentTemplates, referencedResource, resourceOf } from '../support/template-graph';

/** Component -> the broker listener it may use (9098 SASL/IAM, 9096 SASL/SCRAM). Nothing else. */
const EXPECTED_BROKER_INGRESS: Record<string, number> = {
  ingest: 9098,
  enrich: 9098,
  aggregate: 9098,
  alerting: 9098,
  connect: 9098,
  flink: 9098,
  admin: 9098,
  iotBridge: 9096,
  /** Lambda's event source mappings: their network interfaces wear the brokers' own group. */
  eventSourceMappings: 9098,
};

const CIDR_KEYS = ['CidrIp', 'CidrIpv6', 'SourcePrefixListId', 'DestinationPrefixListId'];

describe.each(ENVIRONMENTS)('broker exposure in %s', (envName) => {
  const { stacks } = buildApp(envName);
  const templates = environmentTemplates(envName);
  const net = stacks.network.network;
  const networkStack = stacks.network.stackName;
  const logicalId = (sg: { node: { defaultChild?: unknown } }) =>
    stacks.network.getLogicalId(sg.node.defaultChild as CfnSecurityGroup);
  const brokerSg = logicalId(net.brokerSecurityGroup);
  const componentOf = new Map([
    ...Object.keys(EXPECTED_BROKER_INGRESS)
      .filter((name) => name !== 'eventSourceMappings')
      .map((name) => [logicalId(net.securityGroup(name as never)), name] as const),
    [brokerSg, 'eventSourceMappings'],
    [logicalId(net.endpointSecurityGroup), 'interfaceEndpoints'],
  ]);
  const isBrokerSg = (stack: string, value: unknown) => {
    const id = referencedResource(templates, stack, value);
    return id?.stack === networkStack && id.logicalId === brokerSg;
  };
  const rulesOfType = (type: string) =>
    [...templates].flatMap(([stack, t]) =>
      Object.values(t.Resources)
        .filter((r) => r.Type === type && isBrokerSg(stack, r.Properties?.GroupId))
        .map((r) => ({ stack, props: r.Properties as Record<string, unknown> })),
    );

  test('the broker group admits exactly one listener per component, from its security group, and no CIDR', () => {
    const ingress = rulesOfType('AWS::EC2::SecurityGroupIngress').map(({ stack, props }) => {
      const source = referencedResource(templates, stack, props.SourceSecurityGroupId);
      const cidrs = CIDR_KEYS.filter((k) => props[k] !== undefined);
      return {
        from:
          source?.stack === networkStack
            ? (componentOf.get(source.logicalId) ?? source.logicalId)
            : JSON.stringify(props),
        protocol: props.IpProtocol,
        ports: `${String(props.FromPort)}-${String(props.ToPort)}`,
        cidrs,
      };
    });
    expect(ingress.sort((a, b) => a.from.localeCompare(b.from))).toEqual(
      Object.entries(EXPECTED_BROKER_INGRESS)
        .map(([from, port]) => ({ from, protocol: 'tcp', ports: `${port}-${port}`, cidrs: [] }))
        .sort((a, b) => a.from.localeCompare(b.from)),
    );
  });

  test('the broker group has no inline rules; its only egress is what the event source mappings need', () => {
    const group = resourceOf(templates, { stack: networkStack, logicalId: brokerSg });
    expect(group.Properties?.SecurityGroupIngress).toBeUndefined();
    expect(group.Properties?.SecurityGroupEgress).toBeUndefined();
    const egress = rulesOfType('AWS::EC2::SecurityGroupEgress').map(({ stack, props }) => ({
      to:
        componentOf.get(
          referencedResource(templates, stack, props.DestinationSecurityGroupId)?.logicalId ?? '',
        ) ?? JSON.stringify(props),
      protocol: props.IpProtocol,
      ports: `${String(props.FromPort)}-${String(props.ToPort)}`,
      cidrs: CIDR_KEYS.filter((k) => props[k] !== undefined),
    }));
    expect(egress.sort((a, b) => a.to.localeCompare(b.to))).toEqual([
      { to: 'eventSourceMappings', protocol: 'tcp', ports: '9098-9098', cidrs: [] },
      { to: 'interfaceEndpoints', protocol: 'tcp', ports: '443-443', cidrs: [] },
    ]);
  });

  test('the brokers sit in exactly the private subnets, one per AZ', () => {
    const streaming = templates.get(stacks.streaming.stackName)!;
    const cluster = Object.values(streaming.Resources).find((r) => r.Type === 'AWS::MSK::Cluster')!;
    const info = cluster.Properties!.BrokerNodeGroupInfo as {
      ClientSubnets: unknown[];
      ConnectivityInfo: unknown;
      SecurityGroups: unknown[];
    };
    const subnets = info.ClientSubnets.map(
      (s) => referencedResource(templates, stacks.streaming.stackName, s)!,
    );
    const described = subnets.map((id) => {
      const p = resourceOf(templates, id).Properties as {
        Tags: { Key: string; Value: string }[];
        MapPublicIpOnLaunch: boolean;
        AvailabilityZone: unknown;
      };
      return {
        type: p.Tags.find((t) => t.Key === 'aws-cdk:subnet-type')?.Value,
        publicIp: p.MapPublicIpOnLaunch,
        az: JSON.stringify(p.AvailabilityZone),
      };
    });
    const azs = stacks.network.availabilityZones.length;
    expect(described.map((d) => [d.type, d.publicIp])).toEqual(Array(azs).fill(['Private', false]));
    expect(new Set(described.map((d) => d.az)).size).toBe(azs);
    expect(info.ConnectivityInfo).toEqual({ PublicAccess: { Type: 'DISABLED' } });
    expect(
      info.SecurityGroups.map((g) => referencedResource(templates, stacks.streaming.stackName, g)),
    ).toEqual([{ stack: networkStack, logicalId: brokerSg }]);
  });
});
