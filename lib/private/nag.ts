/**
 * cdk-nag's suppression helper, imported from its own module: the package index loads every rule
 * pack (about 0.3 s at each synth), while acknowledging findings only needs this class. The rule
 * packs run in test/unit/nag.test.ts.
 */
import { NagSuppressions } from 'cdk-nag/lib/nag-suppressions';
import type { IConstruct } from 'constructs';

export { NagSuppressions };

/**
 * Acknowledges what the CDK provider framework's own function raises (its managed execution policy,
 * the `:*` invoke of its handler, its runtime), on that provider only. `handler` names the function
 * it invokes, for the reasons.
 */
export function acknowledgeProviderFramework(provider: IConstruct, handler: string): void {
  NagSuppressions.addResourceSuppressions(
    provider,
    [
      {
        id: 'AwsSolutions-IAM4',
        reason: `The CDK provider framework function uses the AWS-managed basic execution policy; it only invokes ${handler}.`,
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: `The provider framework may invoke any version of ${handler} (its ARN with :*).`,
      },
      {
        id: 'AwsSolutions-L1',
        reason: "The provider framework function's runtime is chosen by aws-cdk-lib.",
      },
    ],
    true,
  );
}
