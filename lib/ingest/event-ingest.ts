import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { NagSuppressions } from '../private/nag';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { PlatformFunction } from '../lambda/platform-function';
import type { TopicCatalog } from '../topics/topic-catalog';

export interface EventIngestProps {
  readonly config: EnvironmentConfig;
  readonly catalog: TopicCatalog;
  /** The IAM listener bootstrap string. */
  readonly bootstrapBrokers: string;
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
}

/**
 * The app-event ingest endpoint: `POST /events` on a regional REST API with IAM (SigV4)
 * authorization and per-environment stage throttling, in front of the ingest function in the VPC,
 * which validates against the event schema and writes to events.user with an idempotent producer.
 *
 * Stage logging (execution logs at ERROR, access logs) needs API Gateway's account setting, a
 * CloudWatch Logs role per account and region: with `ingest.ownsApiGatewayAccount` this stack
 * creates it (`AWS::ApiGateway::Account` and its role, both retained when the stack is deleted, so
 * that another environment's logging never loses it); otherwise the account must have it already
 * (from the owning environment, or set once by the account's administrators).
 */
export class EventIngest extends Construct {
  public readonly api: apigateway.RestApi;
  public readonly function: PlatformFunction;
  /** `https://.../v1/events`. */
  public readonly endpoint: string;
  /** The function's timeout (API Gateway's integration limit). */
  public readonly timeout = Duration.seconds(29);

  constructor(scope: Construct, id: string, props: EventIngestProps) {
    super(scope, id);
    const { config, catalog } = props;

    this.function = new PlatformFunction(this, 'Ingest', {
      config,
      handlerDir: 'ingest',
      description: `Validates app events and writes them to ${catalog.name('eventsUser')}`,
      vpc: props.vpc,
      securityGroup: props.securityGroup,
      memorySize: config.ingest.memoryMiB,
      timeout: this.timeout,
      environment: {
        EVENTS_TOPIC: catalog.name('eventsUser'),
        MAX_BATCH_SIZE: String(config.ingest.maxBatchSize),
        MAX_MESSAGE_BYTES: String(catalog.topic('eventsUser').settings.maxMessageBytes),
        BOOTSTRAP_BROKERS: props.bootstrapBrokers,
        KAFKA_AUTH: 'iam',
      },
    });
    catalog.grantProduce('eventsUser', this.function.fn);

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: config.msk.logRetentionDays as logs.RetentionDays,
      removalPolicy: config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: `${config.platformName}-${config.envName}-ingest`,
      description: 'App event ingest (IAM authorization)',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      // The account+region's CloudWatch Logs role for API Gateway, which execution and access
      // logging need: created (and retained on delete) only by the environment that owns it.
      ...(config.ingest.ownsApiGatewayAccount
        ? { cloudWatchRole: true, cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN }
        : { cloudWatchRole: false }),
      deployOptions: {
        stageName: 'v1',
        throttlingRateLimit: config.ingest.throttleRateLimit,
        throttlingBurstLimit: config.ingest.throttleBurstLimit,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
      },
    });
    this.api.root
      .addResource('events')
      .addMethod('POST', new apigateway.LambdaIntegration(this.function.fn, { proxy: true }), {
        authorizationType: apigateway.AuthorizationType.IAM,
      });
    this.endpoint = this.api.urlForPath('/events');

    new ssm.StringParameter(this, 'EndpointParameter', {
      parameterName: `/${config.platformName}/${config.envName}/ingest/endpoint`,
      description: 'POST app events here (SigV4, execute-api:Invoke)',
      stringValue: this.endpoint,
    });
    new CfnOutput(this, 'Endpoint', { value: this.endpoint, description: 'App event ingest endpoint' });

    NagSuppressions.addResourceSuppressions(
      this.api,
      [
        {
          id: 'AwsSolutions-APIG2',
          reason:
            'The function validates with the event schema and answers per item and per field, which a request model cannot; nothing is written unless every event is valid.',
        },
        {
          id: 'AwsSolutions-COG4',
          reason:
            'The endpoint is for services and app back ends signing with IAM (SigV4), not end users with Cognito tokens.',
        },
        {
          id: 'AwsSolutions-APIG3',
          reason:
            'Callers are IAM principals (SigV4, execute-api:Invoke); stage throttling bounds load. Attach a WAF web ACL if the API is ever opened to non-IAM callers.',
        },
        {
          id: 'AwsSolutions-IAM4',
          reason:
            'The account-level API Gateway logging role needs the AWS-managed AmazonAPIGatewayPushToCloudWatchLogs policy, as the service documents.',
          appliesTo: [
            'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs',
          ],
        },
      ],
      true,
    );
  }
}
