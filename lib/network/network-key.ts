import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';

export interface NetworkKeyProps {
  /** The environment's validated configuration (names, and the data rule the key follows). */
  readonly config: EnvironmentConfig;
}

/**
 * The network stack's own customer-managed KMS key, rotated yearly: the network stack is deployed
 * before the streaming stack that owns the platform key (lib/kafka/platform-key.ts), so its log
 * groups (VPC flow logs, the prefix-list lookup) are encrypted with this one. Like the platform key,
 * it is kept on delete and on replacement unless the environment's `removeDataOnDestroy` allows
 * otherwise, because the retained log groups cannot be read without it.
 *
 * Its policy: the account's IAM administers and uses it (the CDK default), and CloudWatch Logs may
 * use it only for log groups of this account and Region (the encryption context CloudWatch Logs
 * sends names the log group).
 */
export class NetworkKey extends Construct {
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: NetworkKeyProps) {
    super(scope, id);
    const { config } = props;
    this.key = new kms.Key(this, 'Key', {
      alias: `alias/${config.platformName}-${config.envName}-network`,
      description: `${config.platformName} ${config.envName}: network stack log groups (VPC flow logs, prefix-list lookup)`,
      enableKeyRotation: true,
      removalPolicy: config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsInThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );
  }
}
