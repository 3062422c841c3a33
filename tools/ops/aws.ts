/**
 * What the ops CLI asks AWS's control planes, behind one interface: the MSK cluster (ListClustersV2,
 * DescribeClusterV2, ListNodes, GetBootstrapBrokers), the Lambda event source mappings on it
 * (ListEventSourceMappings), the MSK Connect connectors (ListConnectors, DescribeConnector) and the
 * Managed Flink applications (ListApplications, DescribeApplication). {@link SdkOpsAws} answers with
 * the AWS SDK v3 clients; the engine test gives the same clients recorded responses.
 */
import {
  DescribeClusterV2Command,
  GetBootstrapBrokersCommand,
  KafkaClient,
  ListClustersV2Command,
  ListNodesCommand,
  type Cluster,
  type ListNodesCommandOutput,
  type KafkaClientConfig,
} from '@aws-sdk/client-kafka';
import {
  DescribeConnectorCommand,
  KafkaConnectClient,
  ListConnectorsCommand,
  type CapacityDescription,
} from '@aws-sdk/client-kafkaconnect';
import {
  DescribeApplicationCommand,
  KinesisAnalyticsV2Client,
  ListApplicationsCommand,
} from '@aws-sdk/client-kinesis-analytics-v2';
import { LambdaClient, ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda';

export interface ClusterInfo {
  readonly arn: string;
  readonly name: string;
  readonly state: string;
  readonly kafkaVersion: string;
  readonly brokerCount: number;
  /** Broker id and endpoints, by broker id. */
  readonly brokers: readonly { readonly id: number; readonly endpoints: readonly string[] }[];
  readonly bootstrapIam?: string;
  readonly bootstrapScram?: string;
}

export interface EventSourceMappingInfo {
  readonly uuid: string;
  readonly functionArn: string;
  readonly state: string;
  readonly topics: readonly string[];
  /** The consumer group the mapping reads with (its UUID when none was set). */
  readonly consumerGroupId?: string;
  readonly onFailureDestination?: string;
  readonly lastProcessingResult?: string;
}

export interface ConnectorInfo {
  readonly arn: string;
  readonly name: string;
  readonly state: string;
  /** `2 workers` or `autoscaling 1..4 workers`. */
  readonly workers: string;
  readonly stateDescription?: string;
}

export interface FlinkApplicationInfo {
  readonly name: string;
  readonly status: string;
  readonly versionId: number;
  readonly runtime: string;
}

export interface OpsAws {
  /** The provisioned cluster of exactly this name, or undefined. */
  describeCluster(clusterName: string): Promise<ClusterInfo | undefined>;
  /** Every event source mapping whose source is the cluster. */
  listEventSourceMappings(clusterArn: string): Promise<EventSourceMappingInfo[]>;
  /** Every connector whose name starts with the prefix, described. */
  listConnectors(namePrefix: string): Promise<ConnectorInfo[]>;
  /** Every Managed Flink application whose name starts with the prefix, described. */
  listFlinkApplications(namePrefix: string): Promise<FlinkApplicationInfo[]>;
}

/** A request handler and credentials (the test's recorded responses) instead of the defaults. */
export interface SdkOptions {
  readonly region: string;
  readonly credentials?: KafkaClientConfig['credentials'];
  readonly requestHandler?: KafkaClientConfig['requestHandler'];
}

function workersOf(capacity: CapacityDescription | undefined): string {
  const auto = capacity?.autoScaling;
  if (auto) return `autoscaling ${auto.minWorkerCount ?? '?'}..${auto.maxWorkerCount ?? '?'} workers`;
  const fixed = capacity?.provisionedCapacity?.workerCount;
  return fixed === undefined ? 'unknown' : `${fixed} worker${fixed === 1 ? '' : 's'}`;
}

export class SdkOpsAws implements OpsAws {
  private readonly kafka: KafkaClient;
  private readonly lambda: LambdaClient;
  private readonly connect: KafkaConnectClient;
  private readonly flink: KinesisAnalyticsV2Client;

  constructor(options: SdkOptions) {
    const common = {
      region: options.region,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.requestHandler ? { requestHandler: options.requestHandler } : {}),
      maxAttempts: 3,
    };
    this.kafka = new KafkaClient(common);
    this.lambda = new LambdaClient(common);
    this.connect = new KafkaConnectClient(common);
    this.flink = new KinesisAnalyticsV2Client(common);
  }

  async describeCluster(clusterName: string): Promise<ClusterInfo | undefined> {
    const summaries: Cluster[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.kafka.send(
        new ListClustersV2Command({ ClusterNameFilter: clusterName, NextToken: nextToken }),
      );
      summaries.push(...(page.ClusterInfoList ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    // The filter matches name prefixes: streaming-dev would also find streaming-dev2.
    const summary = summaries.find((c) => c.ClusterName === clusterName);
    if (!summary?.ClusterArn) return undefined;
    const arn = summary.ClusterArn;
    const { ClusterInfo: cluster } = await this.kafka.send(new DescribeClusterV2Command({ ClusterArn: arn }));
    const brokers: { id: number; endpoints: string[] }[] = [];
    nextToken = undefined;
    do {
      const page: ListNodesCommandOutput = await this.kafka.send(
        new ListNodesCommand({ ClusterArn: arn, NextToken: nextToken }),
      );
      for (const node of page.NodeInfoList ?? []) {
        const b = node.BrokerNodeInfo;
        if (b?.BrokerId !== undefined) brokers.push({ id: b.BrokerId, endpoints: b.Endpoints ?? [] });
      }
      nextToken = page.NextToken;
    } while (nextToken);
    const boot =
      cluster?.State === 'ACTIVE' || cluster?.State === 'UPDATING' ? await this.bootstrap(arn) : {};
    return {
      arn,
      name: clusterName,
      state: cluster?.State ?? 'UNKNOWN',
      kafkaVersion: cluster?.Provisioned?.CurrentBrokerSoftwareInfo?.KafkaVersion ?? 'unknown',
      brokerCount: cluster?.Provisioned?.NumberOfBrokerNodes ?? brokers.length,
      brokers: brokers.sort((a, b) => a.id - b.id),
      ...boot,
    };
  }

  private async bootstrap(arn: string): Promise<Pick<ClusterInfo, 'bootstrapIam' | 'bootstrapScram'>> {
    const out = await this.kafka.send(new GetBootstrapBrokersCommand({ ClusterArn: arn }));
    return {
      ...(out.BootstrapBrokerStringSaslIam ? { bootstrapIam: out.BootstrapBrokerStringSaslIam } : {}),
      ...(out.BootstrapBrokerStringSaslScram ? { bootstrapScram: out.BootstrapBrokerStringSaslScram } : {}),
    };
  }

  async listEventSourceMappings(clusterArn: string): Promise<EventSourceMappingInfo[]> {
    const out: EventSourceMappingInfo[] = [];
    let marker: string | undefined;
    do {
      const page = await this.lambda.send(
        new ListEventSourceMappingsCommand({ EventSourceArn: clusterArn, Marker: marker }),
      );
      for (const m of page.EventSourceMappings ?? []) {
        const group = m.AmazonManagedKafkaEventSourceConfig?.ConsumerGroupId;
        const onFailure = m.DestinationConfig?.OnFailure?.Destination;
        out.push({
          uuid: m.UUID ?? '',
          functionArn: m.FunctionArn ?? '',
          state: m.State ?? 'Unknown',
          topics: m.Topics ?? [],
          ...(group ? { consumerGroupId: group } : {}),
          ...(onFailure ? { onFailureDestination: onFailure } : {}),
          ...(m.LastProcessingResult ? { lastProcessingResult: m.LastProcessingResult } : {}),
        });
      }
      marker = page.NextMarker;
    } while (marker);
    return out;
  }

  async listConnectors(namePrefix: string): Promise<ConnectorInfo[]> {
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.connect.send(
        new ListConnectorsCommand({ connectorNamePrefix: namePrefix, nextToken }),
      );
      for (const c of page.connectors ?? []) if (c.connectorArn) arns.push(c.connectorArn);
      nextToken = page.nextToken;
    } while (nextToken);
    const out: ConnectorInfo[] = [];
    for (const arn of arns) {
      const c = await this.connect.send(new DescribeConnectorCommand({ connectorArn: arn }));
      const description = [c.stateDescription?.code, c.stateDescription?.message].filter(Boolean).join(': ');
      out.push({
        arn,
        name: c.connectorName ?? arn,
        state: c.connectorState ?? 'UNKNOWN',
        workers: workersOf(c.capacity),
        ...(description ? { stateDescription: description } : {}),
      });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async listFlinkApplications(namePrefix: string): Promise<FlinkApplicationInfo[]> {
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.flink.send(new ListApplicationsCommand({ NextToken: nextToken }));
      for (const a of page.ApplicationSummaries ?? [])
        if (a.ApplicationName?.startsWith(namePrefix)) names.push(a.ApplicationName);
      nextToken = page.NextToken;
    } while (nextToken);
    const out: FlinkApplicationInfo[] = [];
    for (const name of names.sort()) {
      const { ApplicationDetail: d } = await this.flink.send(
        new DescribeApplicationCommand({ ApplicationName: name }),
      );
      out.push({
        name,
        status: d?.ApplicationStatus ?? 'UNKNOWN',
        versionId: d?.ApplicationVersionId ?? 0,
        runtime: d?.RuntimeEnvironment ?? 'unknown',
      });
    }
    return out;
  }
}
