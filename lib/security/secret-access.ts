import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/**
 * Lets a principal read a secret, and decrypt it when a customer-managed key encrypts it: the ONE
 * way the platform grants secret access.
 *
 * `secret.grantRead()` alone is not enough here. It asks the key for a decrypt grant, and a key that
 * is referenced rather than owned (`kms.Key.fromKeyArn`, as every consuming stack does with the
 * platform key) takes no grant: its key policy only delegates to the account, so without a
 * `kms:Decrypt` in the principal's own policy Secrets Manager cannot decrypt the value for it. The
 * decrypt is limited to calls Secrets Manager makes on the principal's behalf in this region
 * (`kms:ViaService`).
 *
 * @param key the secret's key; defaults to `secret.encryptionKey`. Without one (AWS-managed key)
 *   only the Secrets Manager actions are granted.
 */
export function grantSecretRead(
  secret: secretsmanager.ISecret,
  grantee: iam.IGrantable,
  key: kms.IKey | undefined = secret.encryptionKey,
): iam.Grant {
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
    resourceArns: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
  });
  if (key) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` },
        },
      }),
    );
  }
  return grant;
}
