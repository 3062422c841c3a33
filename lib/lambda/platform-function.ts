import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from '../private/nag';
import { filesUnder, hashSources } from '../private/source-hash';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { EnvironmentConfig } from '../config/platform-config';

const ROOT = join(__dirname, '..', '..');

let sourceHash: string | undefined;

/**
 * A hash of everything a bundle can be made of: every TypeScript file under lambda/ and lib/ (which
 * handlers may import; this file, with the bundling options, among them) and the lockfile. Bundles are then reused
 * from the output directory while none of it changes, instead of running esbuild at every synth.
 */
function bundleSourceHash(): string {
  sourceHash ??= hashSources(ROOT, [
    ...filesUnder(join(ROOT, 'lambda'), '.ts'),
    ...filesUnder(join(ROOT, 'lib'), '.ts'),
    join(ROOT, 'package-lock.json'), // lib/ includes this file, so the bundling options count too
  ]);
  return sourceHash;
}

/** The esbuild options every function is bundled with (test/unit/bundles.test.ts builds with them too). */
export const BUNDLING = {
  minify: true,
  target: 'node22',
  // Everything is bundled at pinned versions, the AWS SDK included: no drift with the runtime's copy.
  // The two exceptions are never loaded: Powertools' Kafka utility imports its Avro and Protobuf
  // deserializers only for those schema types, and the platform's consumers read JSON.
  externalModules: ['avro-js', 'protobufjs'] as string[],
  // ES module builds first: the AWS SDK v3 and Powertools tree-shake from them (about 200 kB less
  // per function than their CommonJS builds).
  mainFields: ['module', 'main'] as string[],
} as const;

export interface PlatformFunctionProps {
  readonly config: EnvironmentConfig;
  /** The folder under lambda/ whose index.ts exports `handler`. */
  readonly handlerDir: string;
  readonly description: string;
  readonly environment?: Record<string, string>;
  /** Where it runs; when given, the function is placed in the private subnets with this security group. */
  readonly vpc?: ec2.IVpc;
  readonly securityGroup?: ec2.ISecurityGroup;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default 30 seconds */
  readonly timeout?: Duration;
  /**
   * Ship a source map and load it at start (`--enable-source-maps`): readable stack traces, at the
   * cost of a larger asset and a slower cold start. Only where the traces are read.
   * @default false
   */
  readonly sourceMap?: boolean;
}

/**
 * The platform's Lambda function defaults in one place: Node.js 24 on ARM64, bundled locally with
 * esbuild (no Docker) with minification (source maps on request), an explicit log group with the
 * environment's retention, X-Ray tracing, and the private subnets when given a VPC.
 */
export class PlatformFunction extends Construct {
  public readonly fn: nodejs.NodejsFunction;
  public readonly logGroup: logs.LogGroup;
  public readonly role: iam.Role;
  /** The statements that need `Resource: *` (X-Ray, VPC networking), kept apart from the role's scoped ones. */
  public readonly unscopedPolicy: iam.Policy;
  /** `<platform>-<env>-<handler>`: the `service` of its Powertools logs, metrics and traces. */
  public readonly serviceName: string;

  constructor(scope: Construct, id: string, props: PlatformFunctionProps) {
    super(scope, id);
    this.serviceName = `${props.config.platformName}-${props.config.envName}-${props.handlerDir.replace(/\//g, '-')}`;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.config.msk.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    // An own role with inline, scoped permissions instead of the AWS-managed execution policies.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    // The only statements that need `Resource: *` (the services define no resource scope for them)
    // live in a policy of their own, and only that policy acknowledges AwsSolutions-IAM5: a `*`
    // added anywhere else on the role is still a finding.
    this.unscopedPolicy = new iam.Policy(this, 'UnscopedActions', {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'XRayTraceSegments',
          actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
          resources: ['*'],
        }),
        ...(props.vpc
          ? [
              new iam.PolicyStatement({
                sid: 'VpcNetworkInterfaces',
                actions: [
                  'ec2:CreateNetworkInterface',
                  'ec2:DescribeNetworkInterfaces',
                  'ec2:DescribeSubnets',
                  'ec2:DeleteNetworkInterface',
                  'ec2:AssignPrivateIpAddresses',
                  'ec2:UnassignPrivateIpAddresses',
                ],
                resources: ['*'],
              }),
            ]
          : []),
      ],
    });
    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      role: this.role,
      entry: join(ROOT, 'lambda', props.handlerDir, 'index.ts'),
      handler: 'handler',
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      logGroup: this.logGroup,
      // Active tracing is set on the resource below, so that its X-Ray statement is not added to
      // the role's default policy.
      environment: {
        ...(props.sourceMap ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        // The `service` of every log line, metric and trace segment Powertools writes.
        POWERTOOLS_SERVICE_NAME: this.serviceName,
        ...props.environment,
      },
      vpc: props.vpc,
      vpcSubnets: props.vpc ? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } : undefined,
      securityGroups: props.securityGroup ? [props.securityGroup] : undefined,
      allowPublicSubnet: false,
      bundling: {
        minify: BUNDLING.minify,
        sourceMap: props.sourceMap ?? false,
        sourcesContent: false,
        target: BUNDLING.target,
        format: nodejs.OutputFormat.CJS,
        externalModules: [...BUNDLING.externalModules],
        mainFields: [...BUNDLING.mainFields],
        forceDockerBundling: false,
        assetHash: createHash('sha256')
          .update(bundleSourceHash())
          .update(props.handlerDir)
          .update(props.sourceMap ? ':map' : '')
          .digest('hex'),
      },
    });
    (this.fn.node.defaultChild as lambda.CfnFunction).tracingConfig = { mode: lambda.Tracing.ACTIVE };
    // Lambda checks the ENI permissions when it creates a function in a VPC.
    this.fn.node.addDependency(this.unscopedPolicy);
    NagSuppressions.addResourceSuppressions(this.unscopedPolicy, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Only X-Ray trace segments and, in a VPC, the EC2 network-interface actions of Lambda: neither supports a resource scope. Every other statement of the role is scoped.',
        appliesTo: ['Resource::*'],
      },
    ]);
  }
}
