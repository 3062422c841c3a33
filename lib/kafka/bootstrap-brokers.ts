import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import type { IKafkaCluster } from './msk-cluster';

export interface BootstrapBrokersProps {
  readonly config: EnvironmentConfig;
  readonly cluster: IKafkaCluster;
}

/**
 * CloudFormation returns no bootstrap broker string for an MSK cluster; this custom resource calls
 * `GetBootstrapBrokers` (@aws-sdk/client-kafka, in the CDK's provider function) after the cluster is
 * up and publishes the IAM and SCRAM strings as attributes and SSM parameters:
 * `/<platform>/<env>/msk/bootstrap-brokers/iam` and `.../scram`.
 */
export class BootstrapBrokers extends Construct {
  /** `b-1...:9098,b-2...:9098`: the SASL/IAM listener. */
  public readonly iam: string;
  /** `b-1...:9096,b-2...:9096`: the SASL/SCRAM listener. */
  public readonly scram: string;
  public readonly iamParameter: ssm.StringParameter;
  public readonly scramParameter: ssm.StringParameter;
  public readonly lookup: cr.AwsCustomResource;

  constructor(scope: Construct, id: string, props: BootstrapBrokersProps) {
    super(scope, id);
    const { config, cluster } = props;
    const call: cr.AwsSdkCall = {
      service: '@aws-sdk/client-kafka',
      action: 'GetBootstrapBrokersCommand',
      parameters: { ClusterArn: cluster.clusterArn },
      physicalResourceId: cr.PhysicalResourceId.of(`${cluster.clusterName}-bootstrap-brokers`),
      outputPaths: ['BootstrapBrokerStringSaslIam', 'BootstrapBrokerStringSaslScram'],
    };
    const logGroup = new logs.LogGroup(this, 'LookupLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      // The environment's data rule, as for every log group: kept unless removeDataOnDestroy.
      removalPolicy: config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    // An own role with inline, resource-scoped permissions instead of the provider's default managed policy.
    const role = new iam.Role(this, 'LookupRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Reads the bootstrap brokers of ${cluster.clusterName}`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    this.lookup = new cr.AwsCustomResource(this, 'Lookup', {
      role,
      resourceType: 'Custom::MskBootstrapBrokers',
      onCreate: call,
      onUpdate: call,
      installLatestAwsSdk: false,
      timeout: Duration.minutes(2),
      logGroup,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['kafka:GetBootstrapBrokers'], resources: [cluster.clusterArn] }),
      ]),
    });
    this.iam = this.lookup.getResponseField('BootstrapBrokerStringSaslIam');
    this.scram = this.lookup.getResponseField('BootstrapBrokerStringSaslScram');

    const prefix = `/${config.platformName}/${config.envName}/msk/bootstrap-brokers`;
    this.iamParameter = new ssm.StringParameter(this, 'IamParameter', {
      parameterName: `${prefix}/iam`,
      description: `Bootstrap brokers of ${cluster.clusterName}, SASL/IAM listener (9098)`,
      stringValue: this.iam,
    });
    this.scramParameter = new ssm.StringParameter(this, 'ScramParameter', {
      parameterName: `${prefix}/scram`,
      description: `Bootstrap brokers of ${cluster.clusterName}, SASL/SCRAM listener (9096)`,
      stringValue: this.scram,
    });
  }
}
