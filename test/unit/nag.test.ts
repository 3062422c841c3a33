import { Aspects, type Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp, ENVIRONMENTS } from '../support/synth';
import { withSnowflake } from '../support/warehouse';

/** The AwsSolutions errors and warnings on a stack, each as `<path>: <rule>`. */
function nagFindings(stack: Stack): string[] {
  const annotations = Annotations.fromStack(stack);
  return [
    ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
  ].map((f) => `${f.id}: ${JSON.stringify(f.entry.data).split(':')[0]}`);
}

/** cdk-nag AwsSolutions over every stack of every environment: nothing unacknowledged. */
describe.each(ENVIRONMENTS)('cdk-nag AwsSolutions in %s', (envName) => {
  const { app, stacks } = buildApp(envName);
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));

  test.each(['network', 'streaming', 'sources', 'events', 'telemetry'] as const)(
    '%s stack has no unacknowledged errors or warnings',
    (which) => {
      expect(nagFindings(stacks[which])).toEqual([]);
    },
  );
});

/** The warehouse stack exists only with a Snowflake account: the test account, every environment. */
describe.each(ENVIRONMENTS)('cdk-nag AwsSolutions over the warehouse stack of %s', (envName) => {
  const { app, stacks } = buildApp(envName, withSnowflake(envName));
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));

  test('no unacknowledged errors or warnings', () => {
    expect(nagFindings(stacks.warehouse!)).toEqual([]);
  });
});
