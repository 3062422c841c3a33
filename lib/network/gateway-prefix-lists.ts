import type { RemovalPolicy } from 'aws-cdk-lib';
import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { NagSuppressions } from '../private/nag';

/** The gateway endpoint services whose AWS-managed prefix list a security group can reference. */
export const GATEWAY_SERVICES = {
  dynamodb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, label: 'DynamoDB' },
  s3: { service: ec2.GatewayVpcEndpointAwsService.S3, label: 'S3' },
} as const;
export type GatewayService = keyof typeof GATEWAY_SERVICES;

/**
 * The ids of the AWS-managed prefix lists of the gateway endpoints (`com.amazonaws.<region>.dynamodb`,
 * `...s3`), which security group egress rules name. CloudFormation cannot resolve a prefix list by
 * name and the stacks take no synth-time lookup, so a custom resource calls EC2
 * `DescribeManagedPrefixLists` at deploy time, one call per list a security group names.
 */
export class GatewayPrefixLists extends Construct {
  private readonly ids: Partial<Record<GatewayService, string>> = {};
  private readonly role: iam.Role;
  private readonly logGroup: logs.LogGroup;
  private readonly describePolicy: iam.Policy;

  /**
   * `logRemovalPolicy`: the lookup's log group follows the environment's data rule (RETAIN in prod);
   * `logEncryptionKey`: the key that encrypts it (the network's own key).
   */
  constructor(
    scope: Construct,
    id: string,
    props: { readonly logRemovalPolicy: RemovalPolicy; readonly logEncryptionKey: kms.IKey },
  ) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'LookupLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: props.logRemovalPolicy,
    });
    // An own role instead of the provider's default managed policy.
    const role = new iam.Role(this, 'LookupRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Reads the ids of the gateway endpoints managed prefix lists',
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    // DescribeManagedPrefixLists has no resource scope: its `*` sits in a policy of its own.
    const describePolicy = new iam.Policy(this, 'DescribePolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({ actions: ['ec2:DescribeManagedPrefixLists'], resources: ['*'] }),
      ],
    });
    NagSuppressions.addResourceSuppressions(describePolicy, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'ec2:DescribeManagedPrefixLists supports no resource-level permissions (read-only).',
        appliesTo: ['Resource::*'],
      },
    ]);

    this.role = role;
    this.logGroup = logGroup;
    this.describePolicy = describePolicy;
  }

  /**
   * The id (`pl-...`) of a gateway endpoint's managed prefix list, resolved at deploy time. The
   * lookup is created on the first call: only the lists some security group names are looked up.
   */
  public prefixListId(service: GatewayService): string {
    this.ids[service] ??= this.lookup(service);
    return this.ids[service];
  }

  private lookup(name: GatewayService): string {
    const { service } = GATEWAY_SERVICES[name];
    // The managed prefix list is named like the endpoint's service: com.amazonaws.<region>.<service>.
    const call: cr.AwsSdkCall = {
      service: '@aws-sdk/client-ec2',
      action: 'DescribeManagedPrefixListsCommand',
      parameters: { Filters: [{ Name: 'prefix-list-name', Values: [service.name] }] },
      physicalResourceId: cr.PhysicalResourceId.fromResponse('PrefixLists.0.PrefixListId'),
      outputPaths: ['PrefixLists.0.PrefixListId'],
    };
    const lookup = new cr.AwsCustomResource(this, `${name}Lookup`, {
      role: this.role,
      resourceType: 'Custom::ManagedPrefixList',
      onCreate: call,
      onUpdate: call,
      installLatestAwsSdk: false,
      timeout: Duration.minutes(2),
      logGroup: this.logGroup,
    });
    lookup.node.addDependency(this.describePolicy);
    return lookup.getResponseField('PrefixLists.0.PrefixListId');
  }
}
