import { Annotations, Stack, type StackProps } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { BootstrapBrokers } from '../kafka/bootstrap-brokers';
import { MskCluster } from '../kafka/msk-cluster';
import { OpsAlarmTopic } from '../monitoring/alarm-topic';
import { PlatformKey } from '../kafka/platform-key';
import type { PlatformNetwork } from '../network/platform-network';
import { TopicCatalog } from '../topics/topic-catalog';

export interface StreamingStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly network: PlatformNetwork;
}

/** The environment's Kafka: the MSK cluster, its topics (the catalog), bootstrap brokers and alarms. */
export class StreamingStack extends Stack {
  public readonly key: PlatformKey;
  public readonly cluster: MskCluster;
  public readonly catalog: TopicCatalog;
  public readonly bootstrapBrokers: BootstrapBrokers;
  /** The ops topic every alarm of the environment goes to (the monitoring stack's alarms). */
  public readonly alarmTopic: OpsAlarmTopic;

  constructor(scope: Construct, id: string, props: StreamingStackProps) {
    super(scope, id, props);
    const { config, network } = props;
    this.key = new PlatformKey(this, 'PlatformKey', { config });
    this.cluster = new MskCluster(this, 'Kafka', {
      config,
      vpc: network.vpc,
      subnets: network.privateSubnets,
      securityGroup: network.brokerSecurityGroup,
      key: this.key.key,
    });
    this.catalog = new TopicCatalog(this, 'Topics', { config, cluster: this.cluster });
    this.bootstrapBrokers = new BootstrapBrokers(this, 'BootstrapBrokers', { config, cluster: this.cluster });
    this.alarmTopic = new OpsAlarmTopic(this, 'Alarms', { config, key: this.key.key });
    new ssm.StringParameter(this, 'ClusterArnParameter', {
      parameterName: `/${config.platformName}/${config.envName}/msk/cluster-arn`,
      description: `ARN of the ${this.cluster.clusterName} MSK cluster`,
      stringValue: this.cluster.clusterArn,
    });
    if (config.removeDataOnDestroy) {
      Annotations.of(this).addWarning(
        `${config.envName}: removeDataOnDestroy is true, so the cluster, its key and log groups are destroyed with this stack (topics are retained only as long as the cluster exists).`,
      );
    }
  }
}
