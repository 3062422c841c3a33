import { Aspects } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp, ENVIRONMENTS } from '../support/synth';

/** cdk-nag AwsSolutions over every stack of every environment: nothing unacknowledged. */
describe.each(ENVIRONMENTS)('cdk-nag AwsSolutions in %s', (envName) => {
  const { app, stacks } = buildApp(envName);
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));

  test.each(['network', 'streaming', 'sources', 'events', 'telemetry'] as const)(
    '%s stack has no unacknowledged errors or warnings',
    (which) => {
      const annotations = Annotations.fromStack(stacks[which]);
      const findings = [
        ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
        ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ].map((f) => `${f.id}: ${JSON.stringify(f.entry.data).split(':')[0]}`);
      expect(findings).toEqual([]);
    },
  );
});
