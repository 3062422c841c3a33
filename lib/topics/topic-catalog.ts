import { CfnOutput, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as msk from 'aws-cdk-lib/aws-msk';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import type { IKafkaCluster } from '../kafka/msk-cluster';
import { encodeTopicConfigs, kafkaTopicConfigs, type TopicSettings } from './topic-settings';
import { TOPIC_IDS, TOPIC_SPECS, type TopicId } from './topic-specs';

export interface TopicCatalogProps {
  readonly config: EnvironmentConfig;
  readonly cluster: IKafkaCluster;
}

/** One topic of the catalog, as other constructs see it. */
export interface CatalogTopic {
  readonly id: TopicId;
  /** The Kafka topic name. */
  readonly name: string;
  readonly settings: TopicSettings;
  /** The topic's ARN for IAM policies. */
  readonly arn: string;
  /** The `AWS::MSK::Topic` resource (RETAIN: never deleted by CloudFormation). */
  readonly resource: msk.CfnTopic;
  /** The SSM parameter `/<platform>/<env>/topics/<name>` holding the name. */
  readonly parameter: ssm.StringParameter;
}

/**
 * The topic catalog: the ONE construct that names and configures topics. It creates every topic as
 * `AWS::MSK::Topic` with RETAIN (removing or renaming a topic in the catalog leaves its data in
 * place), publishes every name as an SSM parameter and a stack export, and grants topic- and
 * group-scoped IAM access. Other constructs take names from here, never from a string.
 */
export class TopicCatalog extends Construct {
  private readonly topics: Record<TopicId, CatalogTopic>;
  private readonly cluster: IKafkaCluster;

  constructor(scope: Construct, id: string, props: TopicCatalogProps) {
    super(scope, id);
    const { config, cluster } = props;
    this.cluster = cluster;
    const topics: Partial<Record<TopicId, CatalogTopic>> = {};
    for (const topicId of TOPIC_IDS) {
      const { name, settings } = config.topics[topicId];
      const spec = TOPIC_SPECS[topicId];
      const resource = new msk.CfnTopic(this, topicId, {
        clusterArn: cluster.clusterArn,
        topicName: name,
        partitionCount: settings.partitions,
        replicationFactor: settings.replicationFactor,
        configs: encodeTopicConfigs(kafkaTopicConfigs(settings)),
      });
      // Data safety: deleting the resource (topic removed from the catalog) or replacing it (renamed,
      // replication factor changed) never deletes the Kafka topic. Deleting one is a manual act (README).
      resource.applyRemovalPolicy(RemovalPolicy.RETAIN);
      const parameter = new ssm.StringParameter(this, `${topicId}Name`, {
        parameterName: `/${config.platformName}/${config.envName}/topics/${name}`,
        description: `${spec.description} (key: ${spec.key})`,
        stringValue: name,
      });
      new CfnOutput(this, `${topicId}Export`, {
        value: name,
        description: spec.description,
        exportName: `${config.platformName}-${config.envName}-topic-${name.replace(/[^A-Za-z0-9]+/g, '-')}`,
      });
      topics[topicId] = { id: topicId, name, settings, arn: cluster.topicArn(name), resource, parameter };
    }
    this.topics = topics as Record<TopicId, CatalogTopic>;
  }

  /** A topic of the catalog. */
  public topic(id: TopicId): CatalogTopic {
    return this.topics[id];
  }

  /** The Kafka name of a topic. */
  public name(id: TopicId): string {
    return this.topics[id].name;
  }

  /** Every topic of the catalog. */
  public all(): CatalogTopic[] {
    return TOPIC_IDS.map((id) => this.topics[id]);
  }

  /** Lets a principal produce to a topic (idempotently) with IAM authentication. */
  public grantProduce(id: TopicId, grantee: iam.IGrantable): iam.Grant {
    this.cluster.grantConnect(grantee);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:WriteDataIdempotently'],
      resourceArns: [this.cluster.clusterArn],
    });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
      resourceArns: [this.topics[id].arn],
    });
  }

  /** Lets a principal consume a topic as one consumer group with IAM authentication. */
  public grantConsume(id: TopicId, groupName: string, grantee: iam.IGrantable): iam.Grant {
    this.cluster.grantConnect(grantee);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
      resourceArns: [this.cluster.groupArn(groupName)],
    });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
      resourceArns: [this.topics[id].arn],
    });
  }
}
