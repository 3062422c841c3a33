import { Aws, CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { PlatformFunction } from '../lambda/platform-function';
import { NagSuppressions } from '../private/nag';
import { platformProvider } from '../lambda/platform-provider';

/** The CreateConnector request of MSK Connect (camelCase, as its API takes it). */
export interface ConnectorSpecification {
  readonly connectorName: string;
  readonly connectorDescription: string;
  readonly kafkaConnectVersion: string;
  readonly capacity: unknown;
  readonly connectorConfiguration: Record<string, string>;
  readonly kafkaCluster: unknown;
  readonly kafkaClusterClientAuthentication: unknown;
  readonly kafkaClusterEncryptionInTransit: unknown;
  readonly plugins: readonly unknown[];
  readonly serviceExecutionRoleArn: string;
  readonly workerConfiguration: unknown;
  readonly logDelivery: unknown;
}

export interface ConnectorResourceProps {
  readonly config: EnvironmentConfig;
  readonly spec: ConnectorSpecification;
  /** The connector's service execution role (passed to MSK Connect). */
  readonly executionRole: iam.IRole;
}

/** How often isComplete asks MSK Connect, and how long a create, update or replacement may take. */
export const CONNECTOR_QUERY_INTERVAL = Duration.seconds(30);
export const CONNECTOR_TOTAL_TIMEOUT = Duration.hours(1);

/**
 * An MSK Connect connector that can be replaced under its own name (lambda/cdc/connector): a change
 * of the plugin, worker configuration, role, network or log delivery deletes the old connector,
 * waits until it is gone, and creates the new one under the SAME name, so that it resumes from the
 * old one's offsets in the worker configuration's shared offsets topic (no snapshot, no lost change).
 * A change of the connector configuration alone is applied in place (UpdateConnector). The Provider
 * framework polls (isComplete) because MSK Connect takes minutes to create or delete a connector.
 */
export class ConnectorResource extends Construct {
  public readonly resource: CustomResource;
  public readonly onEvent: PlatformFunction;
  public readonly isComplete: PlatformFunction;
  /** The connector's ARN (changes when it is replaced). */
  public readonly connectorArn: string;

  constructor(scope: Construct, id: string, props: ConnectorResourceProps) {
    super(scope, id);
    const name = props.spec.connectorName;
    const common = { config: props.config, memorySize: 256, timeout: Duration.minutes(1) };
    this.onEvent = new PlatformFunction(this, 'OnEvent', {
      ...common,
      handlerDir: 'cdc/connector',
      description: `Starts creating, updating, replacing or deleting the MSK Connect connector ${name}`,
    });
    this.isComplete = new PlatformFunction(this, 'IsComplete', {
      ...common,
      handlerDir: 'cdc/connector-complete',
      description: `Waits for MSK Connect to finish an operation on the connector ${name}`,
    });

    const connectorArns = `arn:${Aws.PARTITION}:kafkaconnect:${Aws.REGION}:${Aws.ACCOUNT_ID}:connector/${name}/*`;
    // Actions MSK Connect authorizes on the connector itself.
    const onConnector = new iam.PolicyStatement({
      actions: [
        'kafkaconnect:DescribeConnector',
        'kafkaconnect:DeleteConnector',
        'kafkaconnect:UpdateConnector',
      ],
      resources: [connectorArns],
    });
    const passRole = new iam.PolicyStatement({
      actions: ['iam:PassRole'],
      resources: [props.executionRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'kafkaconnect.amazonaws.com' } },
    });
    const serviceLinkedRole = new iam.PolicyStatement({
      actions: ['iam:CreateServiceLinkedRole', 'iam:AttachRolePolicy', 'iam:PutRolePolicy'],
      resources: [
        `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/aws-service-role/kafkaconnect.amazonaws.com/AWSServiceRoleForKafkaConnect*`,
      ],
    });
    // CreateConnector, ListConnectors and the network/log-delivery checks CreateConnector and
    // DeleteConnector make on the caller's behalf support no resource-level permissions.
    const unscoped = new iam.PolicyStatement({
      actions: [
        'kafkaconnect:CreateConnector',
        'kafkaconnect:ListConnectors',
        'ec2:CreateNetworkInterface',
        'ec2:DescribeSecurityGroups',
        'ec2:DescribeSubnets',
        'ec2:DescribeVpcs',
        'logs:CreateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:DescribeLogGroups',
        'logs:DescribeResourcePolicies',
        'logs:GetLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
      ],
      resources: ['*'],
    });
    for (const fn of [this.onEvent, this.isComplete]) {
      fn.role.addToPolicy(onConnector);
      fn.role.addToPolicy(passRole);
      fn.role.addToPolicy(serviceLinkedRole);
      const controlPlane = new iam.Policy(fn, 'MskConnectControlPlane', { statements: [unscoped] });
      fn.role.attachInlinePolicy(controlPlane);
      NagSuppressions.addResourceSuppressions(controlPlane, [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'kafkaconnect:CreateConnector/ListConnectors and the EC2 and CloudWatch Logs delivery actions MSK Connect checks on the caller support no resource-level permissions (service authorization reference); this policy holds only those.',
          appliesTo: ['Resource::*'],
        },
      ]);
    }
    NagSuppressions.addResourceSuppressions(
      [this.onEvent.role, this.isComplete.role],
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: `The connector's ARN ends in an id MSK Connect assigns at creation; the wildcard is limited to connectors named ${name}, and the service-linked role's name suffix is AWS's.`,
          appliesTo: [
            {
              regex:
                '/^Resource::arn:<AWS::Partition>:kafkaconnect:<AWS::Region>:<AWS::AccountId>:connector/.*/\\*$/g',
            },
            {
              regex:
                '/^Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/aws-service-role/kafkaconnect.amazonaws.com/AWSServiceRoleForKafkaConnect\\*$/g',
            },
          ],
        },
      ],
      true,
    );

    const provider = platformProvider(this, 'Provider', props.config, {
      onEventHandler: this.onEvent.fn,
      isCompleteHandler: this.isComplete.fn,
      queryInterval: CONNECTOR_QUERY_INTERVAL,
      totalTimeout: CONNECTOR_TOTAL_TIMEOUT,
    });
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::MskConnectConnector',
      properties: { Connector: Stack.of(this).toJsonString(props.spec) },
    });
    this.connectorArn = this.resource.getAttString('ConnectorArn');
    NagSuppressions.addResourceSuppressions(
      provider,
      [
        {
          id: 'AwsSolutions-IAM4',
          reason:
            'The CDK provider framework functions use the AWS-managed basic execution policy; they only invoke the connector functions and run the waiter state machine.',
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'The provider framework may invoke any version of its handler functions (their ARNs with :*).',
        },
        {
          id: 'AwsSolutions-L1',
          reason: "The provider framework functions' runtime is chosen by aws-cdk-lib.",
        },
        {
          id: 'AwsSolutions-SF1',
          reason:
            "The provider framework's waiter state machine is CDK-managed; its handler functions log to CloudWatch.",
        },
        {
          id: 'AwsSolutions-SF2',
          reason:
            "The provider framework's waiter state machine is CDK-managed; X-Ray is on in the handler functions.",
        },
      ],
      true,
    );
  }
}
