import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { buildApp, cdkJsonContext } from '../support/synth';

test('dev announces that removeDataOnDestroy destroys the cluster', () => {
  const { stacks } = buildApp('dev');
  Annotations.fromStack(stacks.streaming).hasWarning(
    '*',
    Match.stringLikeRegexp('removeDataOnDestroy is true'),
  );
});

test('dev announces that removeDataOnDestroy destroys the telemetry lake', () => {
  const { stacks } = buildApp('dev');
  Annotations.fromStack(stacks.telemetry).hasWarning(
    '*',
    "dev: removeDataOnDestroy is true, so the lake buckets, the application's log group and the alerting state table are destroyed with this stack.",
  );
});

test.each(['dev', 'staging', 'prod'])(
  '%s warns that the telemetry alerts reach nobody while it lists no subscription',
  (envName) => {
    const { stacks } = buildApp(envName);
    Annotations.fromStack(stacks.telemetry).hasWarning(
      '*',
      `${envName}: the telemetry alerts reach nobody: the alerting topic has no subscription. List the addresses in environments.${envName}.telemetry.alerting.subscriptions.`,
    );
  },
);

test('with a subscription, the warning is gone', () => {
  const environments = cdkJsonContext().environments as Record<string, Record<string, unknown>>;
  const prod = environments.prod!;
  const telemetry = prod.telemetry as { alerting: Record<string, unknown> };
  const { stacks } = buildApp('prod', {
    environments: {
      ...environments,
      prod: {
        ...prod,
        telemetry: {
          ...telemetry,
          alerting: {
            ...telemetry.alerting,
            subscriptions: [{ email: 'oncall@example.com', minSeverity: 'warning' }],
          },
        },
      },
    },
  });
  expect(Annotations.fromStack(stacks.telemetry).findWarning('*', Match.anyValue())).toEqual([]);
});

test('prod has no other warnings', () => {
  const { stacks } = buildApp('prod');
  expect(Annotations.fromStack(stacks.streaming).findWarning('*', Match.anyValue())).toEqual([]);
  expect(Annotations.fromStack(stacks.network).findWarning('*', Match.anyValue())).toEqual([]);
  expect(
    Annotations.fromStack(stacks.telemetry)
      .findWarning('*', Match.anyValue())
      .map((w) => w.entry.data),
  ).toEqual([
    'prod: the telemetry alerts reach nobody: the alerting topic has no subscription. List the addresses in environments.prod.telemetry.alerting.subscriptions.',
  ]);
});

test('an explicit account and region synthesize without lookups', () => {
  const { stacks } = buildApp('prod', {}, { account: '123456789012', region: 'eu-west-1' });
  expect(stacks.network.region).toBe('eu-west-1');
  expect(stacks.network.availabilityZones).toHaveLength(3);
  expect(JSON.stringify(stacks.network.resolve(stacks.network.availabilityZones))).toContain('Fn::GetAZs');
});
