import type { IAspect } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';

/**
 * Encrypts every CloudWatch log group of the stacks it is applied to with the platform key, unless
 * the group names a key of its own: function logs, custom-resource provider logs, connector worker
 * logs, and any log group added later, without each construct having to remember. The platform key's
 * policy lets CloudWatch Logs use it for any log group of the account (lib/kafka/platform-key.ts).
 *
 * Not for the network stack: it is deployed before the stack that owns the key.
 */
export class EncryptLogGroups implements IAspect {
  constructor(private readonly keyArn: string) {}

  visit(node: IConstruct): void {
    if (node instanceof logs.CfnLogGroup && node.kmsKeyId === undefined) node.kmsKeyId = this.keyArn;
  }
}
