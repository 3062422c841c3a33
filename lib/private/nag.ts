/**
 * cdk-nag's suppression helper, imported from its own module: the package index loads every rule
 * pack (about 0.3 s at each synth), while acknowledging findings only needs this class. The rule
 * packs run in test/unit/nag.test.ts.
 */
export { NagSuppressions } from 'cdk-nag/lib/nag-suppressions';
