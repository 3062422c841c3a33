import { Aws, Fn, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kafkaconnect from 'aws-cdk-lib/aws-kafkaconnect';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { contentHashedName, toPropertiesText } from '../cdc/debezium-config';
import type { ConnectorSpecification } from '../cdc/connector-resource';
import type { EnvironmentConfig } from '../config/platform-config';
import type { IKafkaCluster } from '../kafka/msk-cluster';
import type { TopicCatalog } from '../topics/topic-catalog';

/** What every platform connector construct is built from. */
export interface MskConnectorProps {
  readonly config: EnvironmentConfig;
  readonly catalog: TopicCatalog;
  readonly cluster: IKafkaCluster;
  /** The IAM listener bootstrap string. */
  readonly bootstrapBrokers: string;
  readonly vpc: ec2.IVpc;
  /** The connector workers' security group. */
  readonly securityGroup: ec2.ISecurityGroup;
}

/**
 * A worker configuration of these properties. `PropertiesFileContent` is create-only, so the name
 * carries a hash of the content (tokens resolved to their stable CloudFormation form): a change is a
 * new worker configuration, which the connector moves to.
 */
export function workerConfiguration(
  scope: Construct,
  id: string,
  props: { namePrefix: string; description: string; properties: Record<string, string> },
): kafkaconnect.CfnWorkerConfiguration {
  const text = toPropertiesText(props.properties);
  return new kafkaconnect.CfnWorkerConfiguration(scope, id, {
    name: contentHashedName(props.namePrefix, JSON.stringify(Stack.of(scope).resolve(text))),
    description: props.description,
    propertiesFileContent: Fn.base64(text),
  });
}

/** A connector's service execution role, trusted by MSK Connect of this account only. */
export function connectorExecutionRole(scope: Construct, id: string, description: string): iam.Role {
  return new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('kafkaconnect.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    }),
    description,
  });
}

export interface ConnectorWiring {
  /** The brokers, the VPC and the workers' security group. */
  readonly network: Pick<MskConnectorProps, 'bootstrapBrokers' | 'vpc' | 'securityGroup'>;
  readonly plugin: kafkaconnect.CfnCustomPlugin;
  readonly role: iam.IRole;
  readonly workerConfiguration: kafkaconnect.CfnWorkerConfiguration;
  readonly logGroup: logs.ILogGroup;
}

/**
 * The part of a connector's specification every platform connector shares: IAM authentication and
 * TLS to the brokers from its security group in the private subnets, its plugin, role and worker
 * configuration (first revisions: each is replaced, never revised), worker logs to its log group.
 */
export function connectorWiring(
  w: ConnectorWiring,
): Omit<
  ConnectorSpecification,
  'connectorName' | 'connectorDescription' | 'kafkaConnectVersion' | 'capacity' | 'connectorConfiguration'
> {
  return {
    kafkaCluster: {
      apacheKafkaCluster: {
        bootstrapServers: w.network.bootstrapBrokers,
        vpc: {
          securityGroups: [w.network.securityGroup.securityGroupId],
          subnets: w.network.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds,
        },
      },
    },
    kafkaClusterClientAuthentication: { authenticationType: 'IAM' },
    kafkaClusterEncryptionInTransit: { encryptionType: 'TLS' },
    plugins: [{ customPlugin: { customPluginArn: w.plugin.attrCustomPluginArn, revision: 1 } }],
    serviceExecutionRoleArn: w.role.roleArn,
    workerConfiguration: {
      workerConfigurationArn: w.workerConfiguration.attrWorkerConfigurationArn,
      revision: 1,
    },
    logDelivery: {
      workerLogDelivery: { cloudWatchLogs: { enabled: true, logGroup: w.logGroup.logGroupName } },
    },
  };
}
