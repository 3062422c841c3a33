import { Aws, Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { KafkaDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import {
  CONSUMER_SOURCES,
  consumerSettings,
  consumerTiming,
  type ConsumerTiming,
  type EnvironmentConfig,
  type MskConsumerName,
} from '../config/platform-config';
import type { IKafkaCluster } from '../kafka/msk-cluster';
import { PlatformFunction } from '../lambda/platform-function';
import type { TopicCatalog } from '../topics/topic-catalog';
import type { TopicId } from '../topics/topic-specs';
import { METRICS_NAMESPACE } from '../../lambda/shared/consumer/types';
import { consumerGroupId } from './consumer-groups';
import type { ConsumerStateTable } from './consumer-state-table';

export interface MskConsumerProps {
  readonly config: EnvironmentConfig;
  /** `enrich`, `aggregate` or `alerting`: the handler folder, the config key and the metrics dimension. */
  readonly consumer: MskConsumerName;
  readonly description: string;
  readonly catalog: TopicCatalog;
  readonly cluster: IKafkaCluster;
  /** The IAM listener bootstrap string. */
  readonly bootstrapBrokers: string;
  /** The consumer's dead-letter topic (also the mappings' on-failure destination). */
  readonly deadLetterTopic: TopicId;
  /** The topics it produces to, besides its dead-letter topic. */
  readonly produces: readonly TopicId[];
  readonly table: ConsumerStateTable;
  /** The DynamoDB item actions on the table. */
  readonly tableActions: readonly string[];
  /** Indexes of the table it queries (`dynamodb:Query`). */
  readonly queryIndexes?: readonly string[];
  /** The platform key, which encrypts the table (decrypt and data keys through DynamoDB only). */
  readonly key: kms.IKey;
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
  /** The consumer's own variables, besides the runtime's. */
  readonly environment: Record<string, string>;
}

/**
 * One MSK consumer of the platform (docs/events-path.md; alerting: docs/telemetry-path.md): a PlatformFunction in the VPC with one
 * event source mapping per source topic (IAM, provisioned pollers, the Kafka on-failure destination
 * `dlq.<consumer>`), least-privilege access to its topics, groups, state table and key. Its alarms (errors, throttles,
 * duration, offset lag, records arriving in its dead-letter topic) are the monitoring stack's.
 *
 * The mappings are `lambda.EventSourceMapping`s with the properties `ManagedKafkaEventSource` renders,
 * but without that class's grants: it attaches the AWS-managed AWSLambdaMSKExecutionRole (`*`
 * resources) and kafka:ListScramSecrets. The role gets the scoped equivalents instead.
 */
export class MskConsumer extends Construct {
  public readonly function: PlatformFunction;
  public readonly timing: ConsumerTiming;
  public readonly mappings: lambda.EventSourceMapping[] = [];

  constructor(scope: Construct, id: string, props: MskConsumerProps) {
    super(scope, id);
    const { config, consumer, catalog, cluster } = props;
    const { settings, outageBoundMinutes } = consumerSettings(config, consumer);
    this.timing = consumerTiming({ outageBoundMinutes }, settings);
    const dedupeHorizonDays =
      consumer === 'alerting' ? config.telemetry.alerting.dedupeHorizonDays : config.events.dedupeHorizonDays;

    this.function = new PlatformFunction(this, 'Consumer', {
      config,
      handlerDir: consumer,
      description: props.description,
      vpc: props.vpc,
      securityGroup: props.securityGroup,
      memorySize: settings.memoryMiB,
      timeout: Duration.seconds(this.timing.timeoutSeconds),
      environment: {
        CONSUMER_NAME: consumer,
        BOOTSTRAP_BROKERS: props.bootstrapBrokers,
        KAFKA_AUTH: 'iam',
        DEAD_LETTER_TOPIC: catalog.name(props.deadLetterTopic),
        RETRY_BUDGET_SECONDS: String(this.timing.retryBudgetSeconds),
        STATE_TABLE: props.table.table.tableName,
        DEDUPE_HORIZON_SECONDS: String(dedupeHorizonDays * 86_400),
        CLAIM_LEASE_SECONDS: String(this.timing.claimLeaseSeconds),
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...props.environment,
      },
    });
    const fn = this.function.fn;
    const cfnFunction = fn.node.defaultChild as lambda.CfnFunction;
    if (settings.reservedConcurrency !== undefined)
      cfnFunction.reservedConcurrentExecutions = settings.reservedConcurrency;

    // Kafka: read each source as its own group; write the outputs and the dead-letter topic, which
    // the mappings' on-failure destination writes to with this role too.
    for (const source of CONSUMER_SOURCES[consumer])
      catalog.grantConsume(source, consumerGroupId(consumer, source), fn);
    for (const target of [...props.produces, props.deadLetterTopic]) catalog.grantProduce(target, fn);
    // What the event source mapping reads about the cluster: the control-plane actions of
    // AWSLambdaMSKExecutionRole, scoped, and the cluster configuration its IAM-authenticated
    // pollers describe (the Lambda guide's list for IAM authentication).
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'kafka:DescribeClusterV2',
          'kafka:GetBootstrapBrokers',
          'kafka-cluster:DescribeClusterDynamicConfiguration',
        ],
        resources: [cluster.clusterArn],
      }),
    );
    // The mapping's pollers place network interfaces in the cluster's VPC: the EC2 read actions
    // Lambda needs besides the function's own ENI actions (no resource scope exists for them).
    this.function.unscopedPolicy.addStatements(
      new iam.PolicyStatement({
        sid: 'MskPollerNetwork',
        actions: ['ec2:DescribeVpcs', 'ec2:DescribeSecurityGroups'],
        resources: ['*'],
      }),
    );

    // DynamoDB: the state table's items (and indexes queried), and its key through DynamoDB only.
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: [...props.tableActions], resources: [props.table.table.tableArn] }),
    );
    if (props.queryIndexes && props.queryIndexes.length > 0) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: props.queryIndexes.map((index) => props.table.indexArn(index)),
        }),
      );
    }
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [props.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Aws.REGION}.amazonaws.com` } },
      }),
    );

    for (const source of CONSUMER_SOURCES[consumer]) {
      const mapping = fn.addEventSourceMapping(`${source}Mapping`, {
        eventSourceArn: cluster.clusterArn,
        kafkaTopic: catalog.name(source),
        kafkaConsumerGroupId: consumerGroupId(consumer, source),
        startingPosition: lambda.StartingPosition[settings.startingPosition],
        batchSize: settings.batchSize,
        maxBatchingWindow: Duration.seconds(settings.maxBatchingWindowSeconds),
        provisionedPollerConfig: { minimumPollers: settings.minPollers, maximumPollers: settings.maxPollers },
        onFailure: new KafkaDlq(catalog.name(props.deadLetterTopic)),
        retryAttempts: settings.retryAttempts,
        ...(settings.maxRecordAgeSeconds === -1
          ? {}
          : { maxRecordAge: Duration.seconds(settings.maxRecordAgeSeconds) }),
      });
      if (settings.maxRecordAgeSeconds === -1) {
        // Never discard by age, written out rather than left to the service default.
        (mapping.node.defaultChild as lambda.CfnEventSourceMapping).maximumRecordAgeInSeconds = -1;
      }
      this.mappings.push(mapping);
    }
  }
}
