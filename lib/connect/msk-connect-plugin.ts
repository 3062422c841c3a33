import { AssetHashType, DockerImage, type ILocalBundling } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kafkaconnect from 'aws-cdk-lib/aws-kafkaconnect';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { IKafkaCluster } from '../kafka/msk-cluster';
import { NagSuppressions } from '../private/nag';

/**
 * Builds an MSK Connect plugin ZIP with Maven from a project under connect/ (pinned coordinates, the
 * platform's config provider built in the same reactor), checks it against the checksum the build
 * wrote, and hands CDK the ZIP itself (uploaded as is).
 */
export class MavenPluginBundling implements ILocalBundling {
  constructor(
    private readonly projectDir: string,
    private readonly zip: string,
    private readonly checksumFile: string,
  ) {}

  tryBundle(outputDir: string): boolean {
    execFileSync('mvn', ['-B', '-q', '-f', join(this.projectDir, 'pom.xml'), 'package'], {
      stdio: 'inherit',
    });
    const expected = readFileSync(this.checksumFile, 'utf8').split(/\s+/)[0];
    const actual = createHash('sha256').update(readFileSync(this.zip)).digest('hex');
    if (expected !== actual) throw new Error(`${this.zip}: checksum ${actual} does not match ${expected}`);
    copyFileSync(this.zip, join(outputDir, basename(this.zip)));
    return true;
  }
}

export interface MskConnectPluginProps {
  /** The Maven project that builds the ZIP. */
  readonly projectDir: string;
  readonly zip: string;
  readonly checksumFile: string;
  /**
   * The asset hash: a hash of what determines the ZIP's content (pinned coordinates, poms, the
   * provider's sources). CDK reuses a staged asset of the same hash and runs no build for it.
   */
  readonly sourceHash: string;
  /** `<platform>-<env>-<plugin>`: the plugin's name before its version and hash. */
  readonly namePrefix: string;
  /** The plugin's release, e.g. `3.7.0.Final` (lower-cased, non-alphanumerics as `-`, in the name). */
  readonly version: string;
  readonly description: string;
}

/**
 * A Maven-built ZIP as an MSK Connect custom plugin. MSK Connect copies a plugin at creation and
 * cannot update it, so the plugin's name and construct id carry the version and a hash of the
 * plugin's sources: any change is a new `AWS::KafkaConnect::CustomPlugin`, and the connector moves
 * to it.
 */
export class MskConnectPlugin extends Construct {
  public readonly asset: s3assets.Asset;
  public readonly plugin: kafkaconnect.CfnCustomPlugin;

  constructor(scope: Construct, id: string, props: MskConnectPluginProps) {
    super(scope, id);
    const version = `${props.version.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}-${props.sourceHash.slice(0, 8)}`;
    this.asset = new s3assets.Asset(this, 'Zip', {
      path: props.projectDir,
      assetHash: props.sourceHash,
      assetHashType: AssetHashType.CUSTOM,
      bundling: {
        // Maven on this machine builds it; there is no container fallback.
        image: DockerImage.fromRegistry('maven-local-bundling-only'),
        local: new MavenPluginBundling(props.projectDir, props.zip, props.checksumFile),
      },
    });
    this.plugin = new kafkaconnect.CfnCustomPlugin(this, `Plugin-${version}`, {
      name: `${props.namePrefix}-${version}`,
      description: props.description,
      contentType: 'ZIP',
      location: { s3Location: { bucketArn: this.asset.bucket.bucketArn, fileKey: this.asset.s3ObjectKey } },
    });
  }
}

/**
 * MSK Connect keeps a connector's offsets, configs and status in its own internal topics and groups
 * (`__amazon_msk_connect_*`, `connect-*`): what every connector's service execution role needs on
 * top of its own topics. The wildcards are acknowledged for cdk-nag on the role.
 */
export function grantMskConnectInternals(role: iam.Role, cluster: IKafkaCluster): void {
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: [
        'kafka-cluster:CreateTopic',
        'kafka-cluster:DescribeTopic',
        'kafka-cluster:ReadData',
        'kafka-cluster:WriteData',
        'kafka-cluster:DescribeTopicDynamicConfiguration',
      ],
      resources: [cluster.topicArn('__amazon_msk_connect_*')],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
      resources: [cluster.groupArn('__amazon_msk_connect_*'), cluster.groupArn('connect-*')],
    }),
  );
  NagSuppressions.addResourceSuppressions(
    role,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'MSK Connect names its internal topics and groups at run time (__amazon_msk_connect_*, connect-*); the wildcards are limited to those prefixes on this cluster.',
        appliesTo: [
          {
            // The cluster's topic or group ARN prefix (the value of the SSM parameter the
            // streaming stack publishes; cdk-nag renders it as a token or, once the app is
            // synthesized, as the stack output) followed by exactly one of the two run-time prefixes.
            regex:
              '/^Resource::(<Kafka(Topic|Group)ArnPrefixParameter[0-9A-F]{8}\\.Value>|\\{"Fn::GetStackOutput":\\{[^}]*\\},"OutputName":"PublishOutputFnGetAttKafka(Topic|Group)ArnPrefixParameter[0-9A-F]{8}Value[0-9A-F]{8}"\\}\\})(__amazon_msk_connect_|connect-)\\*$/',
          },
        ],
      },
    ],
    true,
  );
}
