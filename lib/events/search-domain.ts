import { Arn, CustomResource, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { OPENSEARCH_ENGINE_VERSION } from '../config/versions';
import { PlatformFunction } from '../lambda/platform-function';
import { acknowledgeProviderFramework, NagSuppressions } from '../private/nag';
import { platformProvider } from '../lambda/platform-provider';

/** The aggregates' index prefix (lambda/shared/search/index-name.ts). */
export const AGGREGATES_INDEX_PREFIX = 'events-aggregates';

export interface SearchDomainProps {
  readonly config: EnvironmentConfig;
  /** The domain goes in its private subnets, one per availability zone used. */
  readonly vpc: ec2.IVpc;
  /** The domain's security group, also worn by the set-up function. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** The platform CMK: encryption at rest and the log groups. */
  readonly key: kms.IKey;
  /**
   * Roles that index into the aggregates' indices (the aggregate function's): mapped to the writer
   * role, and allowed `es:ESHttpPost` on `<domain ARN>/_bulk` only.
   */
  readonly writerRoles: iam.IRole[];
}

/**
 * The search sink: an OpenSearch Service domain in the VPC (engine {@link OPENSEARCH_ENGINE_VERSION})
 * with encryption at rest (platform CMK) and node to node, HTTPS only with TLS 1.2+, fine-grained
 * access control whose master is the set-up function's IAM role (no internal users, no password),
 * slow and error logs in encrypted log groups, and a resource policy that admits only the writers
 * (`POST /_bulk` only) and the set-up function. A custom resource (lambda/search-setup) applies the index template, the
 * ISM retention policy and the writer role mapping with signed requests.
 */
export class SearchDomain extends Construct {
  public readonly domain: opensearch.Domain;
  /** `https://<domain endpoint>`. */
  public readonly endpoint: string;
  public readonly indexPrefix = AGGREGATES_INDEX_PREFIX;
  public readonly setupFunction: PlatformFunction;

  constructor(scope: Construct, id: string, props: SearchDomainProps) {
    super(scope, id);
    const { config } = props;
    const sizing = config.events.opensearch;
    const removalPolicy = config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    const domainName = `${config.platformName}-${config.envName}-events`;
    if (!Token.isUnresolved(domainName) && !/^[a-z][a-z0-9-]{2,27}$/.test(domainName)) {
      throw new Error(
        `search domain name '${domainName}' (platformName-envName-events) must be 3..28 lowercase letters, digits or '-'`,
      );
    }
    // A domain spans one AZ per data node up to 3; with standby, exactly 3.
    const azCount = sizing.multiAzWithStandby ? 3 : Math.min(3, sizing.dataNodes);
    const subnets = props.vpc.selectSubnets({
      subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
      onePerAz: true,
    });
    if (!Token.isUnresolved(subnets.subnets.length) && subnets.subnets.length < azCount) {
      throw new Error(
        `the search domain needs ${azCount} private subnets in distinct AZs, the VPC has ${subnets.subnets.length}`,
      );
    }

    this.setupFunction = new PlatformFunction(this, 'Setup', {
      config,
      handlerDir: 'search-setup',
      description: 'Applies the aggregates index template, ISM retention policy and writer role mapping',
      vpc: props.vpc,
      securityGroup: props.securityGroup,
      memorySize: 256,
      timeout: Duration.minutes(2),
    });

    const logGroup = (name: string) =>
      new logs.LogGroup(this, name, {
        retention: sizing.logRetentionDays as logs.RetentionDays,
        encryptionKey: props.key,
        removalPolicy,
      });
    const slowSearchLogs = logGroup('SlowSearchLogs');
    const slowIndexLogs = logGroup('SlowIndexLogs');
    const errorLogs = logGroup('ErrorLogs');

    this.domain = new opensearch.Domain(this, 'Domain', {
      domainName,
      version: opensearch.EngineVersion.openSearch(OPENSEARCH_ENGINE_VERSION.replace('OpenSearch_', '')),
      vpc: props.vpc,
      vpcSubnets: [{ subnets: subnets.subnets.slice(0, azCount) }],
      securityGroups: [props.securityGroup],
      capacity: {
        dataNodes: sizing.dataNodes,
        dataNodeInstanceType: sizing.dataNodeInstanceType,
        ...(sizing.dedicatedMasterNodes > 0
          ? {
              masterNodes: sizing.dedicatedMasterNodes,
              masterNodeInstanceType: sizing.dedicatedMasterInstanceType,
            }
          : {}),
        multiAzWithStandbyEnabled: sizing.multiAzWithStandby,
      },
      zoneAwareness: azCount > 1 ? { enabled: true, availabilityZoneCount: azCount } : { enabled: false },
      ebs: { volumeSize: sizing.volumeSizeGiB, volumeType: ec2.EbsDeviceVolumeType.GP3 },
      encryptionAtRest: { enabled: true, kmsKey: props.key },
      nodeToNodeEncryption: true,
      enforceHttps: true,
      tlsSecurityPolicy: opensearch.TLSSecurityPolicy.TLS_1_2_PFS,
      fineGrainedAccessControl: { masterUserArn: this.setupFunction.role.roleArn },
      logging: {
        slowSearchLogEnabled: true,
        slowSearchLogGroup: slowSearchLogs,
        slowIndexLogEnabled: true,
        slowIndexLogGroup: slowIndexLogs,
        appLogEnabled: true,
        appLogGroup: errorLogs,
      },
      // The Logs resource policy below, instead of the L2's custom resource that writes one.
      suppressLogsResourcePolicy: true,
      removalPolicy,
    });
    const stack = Stack.of(this);
    // The domain's own ARN cannot be referenced from its access policy; its name is fixed.
    const domainArn = Arn.format({ service: 'es', resource: 'domain', resourceName: domainName }, stack);
    // The writers send only `POST /_bulk` (lambda/aggregate/search-sink.ts).
    const bulkPath = `${domainArn}/_bulk`;
    const cfnDomain = this.domain.node.defaultChild as opensearch.CfnDomain;
    cfnDomain.accessPolicies = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'AggregateWriters',
          principals: props.writerRoles.map((r) => new iam.ArnPrincipal(r.roleArn)),
          actions: ['es:ESHttpPost'],
          resources: [bulkPath],
        }),
        new iam.PolicyStatement({
          sid: 'SearchSetup',
          principals: [new iam.ArnPrincipal(this.setupFunction.role.roleArn)],
          actions: ['es:ESHttpGet', 'es:ESHttpPut'],
          resources: [`${domainArn}/*`],
        }),
      ],
    }).toJSON() as unknown;

    new logs.CfnResourcePolicy(this, 'LogsResourcePolicy', {
      policyName: `${domainName}-logs`,
      policyDocument: stack.toJsonString(
        new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              principals: [new iam.ServicePrincipal('es.amazonaws.com')],
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [slowSearchLogs, slowIndexLogs, errorLogs].map((g) => g.logGroupArn),
              conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
            }),
          ],
        }).toJSON(),
      ),
    });

    this.setupFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SearchSetupRequests',
        actions: ['es:ESHttpGet', 'es:ESHttpPut'],
        resources: [`${domainArn}/*`],
      }),
    );
    for (const writer of props.writerRoles) {
      writer.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'SearchBulkWrites',
          actions: ['es:ESHttpPost'],
          resources: [bulkPath],
        }),
      );
    }
    this.endpoint = `https://${this.domain.domainEndpoint}`;

    const provider = platformProvider(this, 'Provider', config, { onEventHandler: this.setupFunction.fn });
    const setup = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::SearchSetup',
      properties: {
        Endpoint: this.endpoint,
        IndexPrefix: this.indexPrefix,
        Shards: String(Math.max(1, sizing.dataNodes)),
        // Multi-AZ with standby keeps copies in multiples of three (a primary and two replicas);
        // otherwise one replica when there is a second node to hold it.
        Replicas: String(sizing.multiAzWithStandby ? 2 : sizing.dataNodes > 1 ? 1 : 0),
        RetentionDays: String(sizing.indexRetentionDays),
        WriterRoleArns: stack.toJsonString(props.writerRoles.map((r) => r.roleArn)),
      },
    });
    setup.node.addDependency(this.domain);

    acknowledgeProviderFramework(provider, 'the set-up function');
    NagSuppressions.addResourceSuppressions(
      this.setupFunction.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Signed HTTP requests are authorized per domain path: es:ESHttpGet/Put on this domain only (<domain ARN>/*).',
          appliesTo: [{ regex: '/^Resource::arn:.*:es:.*:domain/.*\\/\\*$/g' }],
        },
      ],
      true,
    );
    const nagForDomain = [
      {
        id: 'AwsSolutions-OS3',
        reason:
          'The domain is only in the VPC (no public endpoint), where IP allowlists do not apply: the access policy names the IAM roles allowed, and fine-grained access control maps them.',
      },
    ];
    if (sizing.dedicatedMasterNodes === 0) {
      nagForDomain.push({
        id: 'AwsSolutions-OS4',
        reason: `${config.envName} runs ${sizing.dataNodes} data node(s) without dedicated masters (config events.opensearch.dedicatedMasterNodes = 0); prod has 3.`,
      });
    }
    if (azCount < 2) {
      nagForDomain.push({
        id: 'AwsSolutions-OS7',
        reason: `${config.envName} runs a single data node in one AZ (config events.opensearch.dataNodes = 1): zone awareness needs two or more.`,
      });
    }
    NagSuppressions.addResourceSuppressions(this.domain, nagForDomain);
  }
}
