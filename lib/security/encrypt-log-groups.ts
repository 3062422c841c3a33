import type { IAspect } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';

/**
 * Encrypts every CloudWatch log group of the scope it is applied to with the given key, unless the
 * group names a key of its own: function logs, custom-resource provider logs, connector worker logs,
 * and any log group added later, without each construct having to remember. The stacks from the
 * streaming stack on use the platform key (lib/kafka/platform-key.ts); the network, deployed before
 * that key exists, uses its own (lib/network/network-key.ts). Each key's policy lets CloudWatch Logs
 * use it for the log groups of the account.
 */
export class EncryptLogGroups implements IAspect {
  constructor(private readonly keyArn: string) {}

  visit(node: IConstruct): void {
    if (node instanceof logs.CfnLogGroup && node.kmsKeyId === undefined) node.kmsKeyId = this.keyArn;
  }
}
