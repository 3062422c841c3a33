import { Aspects, Fn, RemovalPolicy, Tags, type Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { EncryptLogGroups } from '../security/encrypt-log-groups';
import {
  COMPONENT_NAMES,
  COMPONENTS,
  componentGateways,
  componentUsesInterfaceEndpoints,
  MSK_PORTS,
  type ComponentName,
} from './components';
import { GATEWAY_SERVICES, GatewayPrefixLists } from './gateway-prefix-lists';
import { NetworkKey } from './network-key';

export interface PlatformNetworkProps {
  /** The environment's validated configuration. */
  readonly config: EnvironmentConfig;
}

/**
 * The platform's VPC: public subnets only for NAT, private subnets for brokers and every compute
 * component, the VPC endpoints the platform needs, flow logs, and one security group per component
 * with least-privilege rules (clients reach the brokers on their listener port only). Its log groups
 * are encrypted with the network's own key (the platform key does not exist yet when it deploys).
 */
export class PlatformNetwork extends Construct {
  public readonly vpc: ec2.Vpc;
  /** The network stack's customer-managed key: its log groups (lib/network/network-key.ts). */
  public readonly key: kms.IKey;
  /** The brokers' security group. */
  public readonly brokerSecurityGroup: ec2.SecurityGroup;
  /** The interface endpoints' security group. */
  public readonly endpointSecurityGroup: ec2.SecurityGroup;
  /**
   * The OpenSearch domain's security group, also worn by its set-up function: HTTPS from the
   * aggregate function and from itself, nothing else.
   */
  public readonly searchSecurityGroup: ec2.SecurityGroup;
  /** The gateway endpoints' managed prefix list ids, resolved at deploy time. */
  public readonly gatewayPrefixLists: GatewayPrefixLists;
  private readonly componentGroups: Record<ComponentName, ec2.SecurityGroup>;

  constructor(scope: Construct, id: string, props: PlatformNetworkProps) {
    super(scope, id);
    const { config } = props;
    const retainOrDestroy = config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.key = new NetworkKey(this, 'Key', { config }).key;
    // Every log group of the network, including any added later, with the network's key.
    Aspects.of(this).add(new EncryptLogGroups(this.key.keyArn));

    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: config.network.flowLogRetentionDays as logs.RetentionDays,
      encryptionKey: this.key,
      removalPolicy: retainOrDestroy,
    });

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(config.network.cidr),
      maxAzs: config.network.maxAzs,
      natGateways: config.network.natGateways,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
    });

    this.brokerSecurityGroup = new ec2.SecurityGroup(this, 'BrokerSg', {
      vpc: this.vpc,
      description: 'MSK brokers: clients on their SASL listener only',
      allowAllOutbound: false,
    });
    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSg', {
      vpc: this.vpc,
      description: 'Interface VPC endpoints: HTTPS from platform components',
      allowAllOutbound: false,
    });

    // Gateway endpoints have no security group: a component reaches one through its prefix list.
    this.gatewayPrefixLists = new GatewayPrefixLists(this, 'GatewayPrefixLists', {
      logRemovalPolicy: retainOrDestroy,
      logEncryptionKey: this.key,
    });

    const groups: Partial<Record<ComponentName, ec2.SecurityGroup>> = {};
    for (const name of COMPONENT_NAMES) {
      const { auth, description } = COMPONENTS[name];
      const endpoints = componentUsesInterfaceEndpoints(name);
      const sg = new ec2.SecurityGroup(this, `${name}Sg`, {
        vpc: this.vpc,
        description: `${description}: ${auth.toUpperCase()} listener of the brokers, HTTPS to ${endpoints ? 'endpoints' : 'its gateway endpoints'}`,
        allowAllOutbound: false,
      });
      Tags.of(sg).add('platform:component', name);
      const port = ec2.Port.tcp(MSK_PORTS[auth]);
      sg.addEgressRule(this.brokerSecurityGroup, port, `to brokers (${auth})`);
      this.brokerSecurityGroup.addIngressRule(sg, port, `from ${name} (${auth})`);
      if (endpoints) {
        sg.addEgressRule(this.endpointSecurityGroup, ec2.Port.tcp(443), 'to interface endpoints');
        this.endpointSecurityGroup.addIngressRule(sg, ec2.Port.tcp(443), `from ${name}`);
      }
      for (const gateway of componentGateways(name)) {
        sg.addEgressRule(
          ec2.Peer.prefixList(this.gatewayPrefixLists.prefixListId(gateway)),
          ec2.Port.tcp(443),
          `to ${GATEWAY_SERVICES[gateway].label} (gateway endpoint)`,
        );
      }
      groups[name] = sg;
    }
    this.componentGroups = groups as Record<ComponentName, ec2.SecurityGroup>;

    // Lambda's event source mappings reach the brokers through network interfaces that wear the
    // cluster's security group: the IAM listener from the group itself, and STS through the endpoint.
    const iamPort = ec2.Port.tcp(MSK_PORTS.iam);
    this.brokerSecurityGroup.addIngressRule(
      this.brokerSecurityGroup,
      iamPort,
      'from event source mappings (iam)',
    );
    this.brokerSecurityGroup.addEgressRule(
      this.brokerSecurityGroup,
      iamPort,
      'event source mappings to brokers (iam)',
    );
    this.brokerSecurityGroup.addEgressRule(
      this.endpointSecurityGroup,
      ec2.Port.tcp(443),
      'to interface endpoints',
    );
    this.endpointSecurityGroup.addIngressRule(
      this.brokerSecurityGroup,
      ec2.Port.tcp(443),
      'from event source mappings',
    );

    this.searchSecurityGroup = new ec2.SecurityGroup(this, 'SearchSg', {
      vpc: this.vpc,
      description: 'OpenSearch domain and its set-up function: HTTPS from the aggregate function and itself',
      allowAllOutbound: false,
    });
    Tags.of(this.searchSecurityGroup).add('platform:component', 'search');
    const https = ec2.Port.tcp(443);
    groups.aggregate!.addEgressRule(this.searchSecurityGroup, https, 'to the OpenSearch domain');
    this.searchSecurityGroup.addIngressRule(groups.aggregate!, https, 'from aggregate');
    this.searchSecurityGroup.addIngressRule(this.searchSecurityGroup, https, 'from the set-up function');
    this.searchSecurityGroup.addEgressRule(this.searchSecurityGroup, https, 'set-up function to the domain');
    this.searchSecurityGroup.addEgressRule(this.endpointSecurityGroup, https, 'to interface endpoints');
    this.endpointSecurityGroup.addIngressRule(this.searchSecurityGroup, https, 'from search');

    const interfaceEndpoints: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
      SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      Sts: ec2.InterfaceVpcEndpointAwsService.STS,
      Kms: ec2.InterfaceVpcEndpointAwsService.KMS,
      Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
      Sns: ec2.InterfaceVpcEndpointAwsService.SNS,
    };
    for (const [name, service] of Object.entries(interfaceEndpoints)) {
      this.vpc.addInterfaceEndpoint(name, {
        service,
        privateDnsEnabled: true,
        securityGroups: [this.endpointSecurityGroup],
        subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        open: false,
      });
    }
  }

  /** The security group of a platform component. */
  public securityGroup(component: ComponentName): ec2.ISecurityGroup {
    return this.componentGroups[component];
  }

  /** The private subnets that hold the brokers and every compute component. */
  public get privateSubnets(): ec2.SubnetSelection {
    return { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  }
}

/**
 * Availability zones without a synth-time lookup: `Fn::GetAZs` picked by index, so an
 * environment-agnostic stack still spreads over `count` AZs (the default gives two).
 */
export function azsWithoutLookup(stack: Stack, count: number): string[] {
  return Array.from({ length: count }, (_, i) => Fn.select(i, Fn.getAzs(stack.region)));
}
