import { CustomResource, Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { acknowledgeProviderFramework } from '../private/nag';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { PlatformFunction } from '../lambda/platform-function';
import type { KafkaAcl } from './acl-model';
import type { IKafkaCluster } from './msk-cluster';
import { platformProvider } from '../lambda/platform-provider';

export interface KafkaAclsProps {
  readonly config: EnvironmentConfig;
  readonly cluster: IKafkaCluster;
  /** The IAM listener bootstrap string. */
  readonly bootstrapBrokers: string;
  readonly vpc: ec2.IVpc;
  /** The admin component's security group (IAM listener egress). */
  readonly securityGroup: ec2.ISecurityGroup;
  /** The ACLs to keep on the cluster. */
  readonly acls: readonly KafkaAcl[];
}

/**
 * Declared Kafka ACLs for SASL/SCRAM principals, kept on the cluster by a custom resource: the
 * cluster configuration sets `allow.everyone.if.no.acl.found=false`, so a SCRAM user can do exactly
 * what its ACLs allow. The function runs in the VPC and connects with IAM (AlterCluster).
 */
export class KafkaAcls extends Construct {
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: KafkaAclsProps) {
    super(scope, id);
    const fn = new PlatformFunction(this, 'Apply', {
      config: props.config,
      handlerDir: 'kafka-acls',
      description: `Keeps the SCRAM principals' ACLs on ${props.cluster.clusterName}`,
      vpc: props.vpc,
      securityGroup: props.securityGroup,
      memorySize: 256,
      timeout: Duration.minutes(2),
      environment: { BOOTSTRAP_BROKERS: props.bootstrapBrokers, KAFKA_AUTH: 'iam' },
    });
    props.cluster.grantConnect(fn.fn);
    fn.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kafka-cluster:AlterCluster'],
        resources: [props.cluster.clusterArn],
      }),
    );

    const provider = platformProvider(this, 'Provider', props.config, { onEventHandler: fn.fn });
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::KafkaAcls',
      properties: { Acls: JSON.stringify(props.acls) },
    });
    acknowledgeProviderFramework(provider, 'the ACL function');
  }
}
