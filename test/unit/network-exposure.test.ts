/**
 * Who can reach the brokers, and where the components with gateway access may connect, read over
 * every stack of an environment (a rule added from another stack counts too), and compared whole
 * with an expectation written here by hand.
 */
import type { CfnSecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { buildApp, ENVIRONMENTS } from '../support/synth';
import { withSnowflake } from '../support/warehouse';
import {
  environmentTemplates,
  referencedResource,
  renderValue,
  resourceOf,
  roleStatements,
} from '../support/template-graph';

/** Component -> the broker listener it may use (9098 SASL/IAM, 9096 SASL/SCRAM). Nothing else. */
const EXPECTED_BROKER_INGRESS: Record<string, number> = {
  ingest: 9098,
  enrich: 9098,
  aggregate: 9098,
  alerting: 9098,
  connect: 9098,
  warehouse: 9098,
  flink: 9098,
  admin: 9098,
  iotBridge: 9096,
  /** Lambda's event source mappings: their network interfaces wear the brokers' own group. */
  eventSourceMappings: 9098,
};

const CIDR_KEYS = ['CidrIp', 'CidrIpv6', 'SourcePrefixListId', 'DestinationPrefixListId'];

const BROKERS = '{network/Network/BrokerSg.GroupId}';
const ENDPOINTS = '{network/Network/EndpointSg.GroupId}';
const SEARCH = '{network/Network/SearchSg.GroupId}';
/** The DynamoDB managed prefix list id, resolved at deploy time by the network stack's lookup. */
const LOOKUP = (service: string) => `{network/Network/GatewayPrefixLists/${service}Lookup/Resource/Default}`;
const DYNAMODB_PREFIX_LIST = `${LOOKUP('dynamodb').slice(0, -1)}.PrefixLists.0.PrefixListId}`;
/** The S3 managed prefix list id, resolved the same way. */
const S3_PREFIX_LIST = `${LOOKUP('s3').slice(0, -1)}.PrefixLists.0.PrefixListId}`;
const LOOKUP_ROLE = '{network/Network/GatewayPrefixLists/LookupRole}';

/**
 * The whole egress of the components that use a gateway endpoint (DynamoDB state tables, the S3
 * lake) or the internet (the warehouse workers, only with a Snowflake account).
 */
const EXPECTED_EGRESS = (
  snowflake: boolean,
): Record<string, { to: string; port: string; description: string }[]> => ({
  enrich: [
    { to: BROKERS, port: 'tcp 9098', description: 'to brokers (iam)' },
    { to: ENDPOINTS, port: 'tcp 443', description: 'to interface endpoints' },
    { to: DYNAMODB_PREFIX_LIST, port: 'tcp 443', description: 'to DynamoDB (gateway endpoint)' },
  ],
  aggregate: [
    { to: BROKERS, port: 'tcp 9098', description: 'to brokers (iam)' },
    { to: ENDPOINTS, port: 'tcp 443', description: 'to interface endpoints' },
    { to: SEARCH, port: 'tcp 443', description: 'to the OpenSearch domain' },
    { to: DYNAMODB_PREFIX_LIST, port: 'tcp 443', description: 'to DynamoDB (gateway endpoint)' },
  ],
  /** SNS through the interface endpoints; its state table through the DynamoDB gateway. */
  alerting: [
    { to: BROKERS, port: 'tcp 9098', description: 'to brokers (iam)' },
    { to: ENDPOINTS, port: 'tcp 443', description: 'to interface endpoints' },
    { to: DYNAMODB_PREFIX_LIST, port: 'tcp 443', description: 'to DynamoDB (gateway endpoint)' },
  ],
  /** The sessionize job: the brokers' IAM listener and the lake through the S3 gateway, nothing else. */
  flink: [
    { to: BROKERS, port: 'tcp 9098', description: 'to brokers (iam)' },
    { to: S3_PREFIX_LIST, port: 'tcp 443', description: 'to S3 (gateway endpoint)' },
  ],
  /** The Snowflake sink's workers: HTTPS to Snowflake through NAT, added by the warehouse stack. */
  warehouse: [
    { to: BROKERS, port: 'tcp 9098', description: 'to brokers (iam)' },
    { to: ENDPOINTS, port: 'tcp 443', description: 'to interface endpoints' },
    ...(snowflake
      ? [{ to: '0.0.0.0/0', port: 'tcp 443', description: 'to Snowflake (HTTPS through NAT)' }]
      : []),
  ],
});

/** Every environment as committed, and prod with the warehouse stack (a test Snowflake account). */
const CASES: [string, string, Record<string, unknown>, boolean][] = [
  ...ENVIRONMENTS.map((e): [string, string, Record<string, unknown>, boolean] => [e, e, {}, false]),
  ['prod with a Snowflake account', 'prod', withSnowflake('prod'), true],
];

describe.each(CASES)('broker exposure in %s', (_label, envName, overrides, snowflake) => {
  const { stacks } = buildApp(envName, overrides);
  const templates = environmentTemplates(envName, overrides);
  const expectedEgress = EXPECTED_EGRESS(snowflake);
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

  /** Every rule of a group in one direction: inline, and as resources in any stack. */
  const rulesOf = (group: { stack: string; logicalId: string }, direction: 'Ingress' | 'Egress') => {
    const inline = (resourceOf(templates, group).Properties?.[`SecurityGroup${direction}`] ?? []) as Record<
      string,
      unknown
    >[];
    const rules = [
      ...inline.map((props) => ({ stack: group.stack, props })),
      ...[...templates].flatMap(([stack, t]) =>
        Object.values(t.Resources)
          .filter((r) => {
            if (r.Type !== `AWS::EC2::SecurityGroup${direction}`) return false;
            const id = referencedResource(templates, stack, r.Properties?.GroupId);
            return id?.stack === group.stack && id.logicalId === group.logicalId;
          })
          .map((r) => ({ stack, props: r.Properties as Record<string, unknown> })),
      ),
    ];
    return rules.map(({ stack, props }) => ({
      peer: renderValue(
        templates,
        stack,
        direction === 'Egress'
          ? (props.DestinationSecurityGroupId ??
              props.DestinationPrefixListId ??
              props.CidrIp ??
              props.CidrIpv6)
          : (props.SourceSecurityGroupId ?? props.SourcePrefixListId ?? props.CidrIp ?? props.CidrIpv6),
      ),
      port: `${String(props.IpProtocol)} ${String(props.FromPort)}${props.ToPort === props.FromPort ? '' : `-${String(props.ToPort)}`}`,
      description: String(props.Description),
    }));
  };
  const egressOf = (group: { stack: string; logicalId: string }) =>
    rulesOf(group, 'Egress').map(({ peer, ...rule }) => ({ to: peer, ...rule }));
  const ingressOf = (group: { stack: string; logicalId: string }) =>
    rulesOf(group, 'Ingress').map(({ peer, ...rule }) => ({ from: peer, ...rule }));
  const byTo = (a: { to: string }, b: { to: string }) => a.to.localeCompare(b.to);
  const byFrom = (a: { from: string }, b: { from: string }) => a.from.localeCompare(b.from);

  test('the OpenSearch group admits HTTPS from the aggregate group and itself only, and reaches itself and the endpoints only', () => {
    const group = { stack: networkStack, logicalId: logicalId(net.searchSecurityGroup) };
    expect(ingressOf(group).sort(byFrom)).toEqual(
      [
        { from: '{network/Network/aggregateSg.GroupId}', port: 'tcp 443', description: 'from aggregate' },
        { from: SEARCH, port: 'tcp 443', description: 'from the set-up function' },
      ].sort(byFrom),
    );
    expect(egressOf(group).sort(byTo)).toEqual(
      [
        { to: SEARCH, port: 'tcp 443', description: 'set-up function to the domain' },
        { to: ENDPOINTS, port: 'tcp 443', description: 'to interface endpoints' },
      ].sort(byTo),
    );
  });

  test.each(Object.keys(EXPECTED_EGRESS(false)))(
    'the %s group reaches exactly its listed peers (brokers, endpoints, gateway prefix lists)',
    (component) => {
      const group = { stack: networkStack, logicalId: logicalId(net.securityGroup(component as never)) };
      expect(egressOf(group).sort(byTo)).toEqual([...expectedEgress[component]!].sort(byTo));
    },
  );

  test('no other security group has a prefix-list rule', () => {
    const withPrefixList = [...templates].flatMap(([stack, t]) =>
      Object.entries(t.Resources)
        .filter(([, r]) => r.Type === 'AWS::EC2::SecurityGroup')
        .flatMap(([id]) =>
          egressOf({ stack, logicalId: id })
            .filter((rule) => rule.to.includes('PrefixList'))
            .map((rule) => [renderValue(templates, stack, { Ref: id }), rule.to]),
        ),
    );
    const ingressFromPrefixList = [...templates].flatMap(([, t]) =>
      Object.values(t.Resources).flatMap((r) =>
        [
          ...(r.Type === 'AWS::EC2::SecurityGroupIngress' ? [r.Properties ?? {}] : []),
          ...(((r.Type === 'AWS::EC2::SecurityGroup' ? r.Properties?.SecurityGroupIngress : undefined) ??
            []) as Record<string, unknown>[]),
        ].filter((p) => p.SourcePrefixListId !== undefined),
      ),
    );
    expect(withPrefixList.sort()).toEqual([
      ['{network/Network/aggregateSg}', DYNAMODB_PREFIX_LIST],
      ['{network/Network/alertingSg}', DYNAMODB_PREFIX_LIST],
      ['{network/Network/enrichSg}', DYNAMODB_PREFIX_LIST],
      ['{network/Network/flinkSg}', S3_PREFIX_LIST],
    ]);
    expect(ingressFromPrefixList).toEqual([]);
  });

  test('the prefix lists are looked up at deploy time by name, with a describe-only policy', () => {
    const lookups = Object.fromEntries(
      Object.entries(templates.get(networkStack)!.Resources)
        .filter(([, r]) => r.Type === 'Custom::ManagedPrefixList')
        .map(([id, r]) => [
          renderValue(templates, networkStack, { Ref: id }),
          ['Create', 'Update'].map((event) => {
            const sdkCall = JSON.parse(renderValue(templates, networkStack, r.Properties?.[event])) as {
              action: string;
              parameters: unknown;
            };
            return `${sdkCall.action} ${JSON.stringify(sdkCall.parameters)}`;
          }),
        ]),
    );
    const call = (service: string) =>
      `DescribeManagedPrefixListsCommand {"Filters":[{"Name":"prefix-list-name","Values":["com.amazonaws.\${AWS::Region}.${service}"]}]}`;
    expect(lookups).toEqual({
      // Only the lists a security group names: DynamoDB (state tables) and S3 (the Flink job's lake).
      [LOOKUP('dynamodb')]: [call('dynamodb'), call('dynamodb')],
      [LOOKUP('s3')]: [call('s3'), call('s3')],
    });

    const statements = roleStatements(templates)
      .filter((st) => renderValue(templates, st.role.stack, { Ref: st.role.logicalId }) === LOOKUP_ROLE)
      .map((st) => ({
        policy: renderValue(templates, st.policy.stack, { Ref: st.policy.logicalId }),
        effect: st.effect,
        actions: st.actions,
        resources: st.resources.map((r) => renderValue(templates, st.role.stack, r)),
        condition: st.condition,
      }));
    expect(statements).toEqual([
      {
        policy: '{network/Network/GatewayPrefixLists/LookupRole/DefaultPolicy}',
        effect: 'Allow',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: ['{network/Network/GatewayPrefixLists/LookupLogs.Arn}'],
        condition: undefined,
      },
      {
        policy: '{network/Network/GatewayPrefixLists/DescribePolicy}',
        effect: 'Allow',
        actions: ['ec2:DescribeManagedPrefixLists'],
        resources: ['*'],
        condition: undefined,
      },
    ]);
    expect(
      roleStatements(templates)
        .filter((st) => st.actions.some((a) => a.startsWith('ec2:DescribeManagedPrefixLists')))
        .map((st) => renderValue(templates, st.role.stack, { Ref: st.role.logicalId })),
    ).toEqual([LOOKUP_ROLE]);
  });
});
