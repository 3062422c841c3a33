import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { buildApp } from '../support/synth';

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
    "dev: removeDataOnDestroy is true, so the lake buckets and the application's log group are destroyed with this stack.",
  );
});

test('prod has no warnings', () => {
  const { stacks } = buildApp('prod');
  expect(Annotations.fromStack(stacks.streaming).findWarning('*', Match.anyValue())).toEqual([]);
  expect(Annotations.fromStack(stacks.network).findWarning('*', Match.anyValue())).toEqual([]);
  expect(Annotations.fromStack(stacks.telemetry).findWarning('*', Match.anyValue())).toEqual([]);
});

test('an explicit account and region synthesize without lookups', () => {
  const { stacks } = buildApp('prod', {}, { account: '123456789012', region: 'eu-west-1' });
  expect(stacks.network.region).toBe('eu-west-1');
  expect(stacks.network.availabilityZones).toHaveLength(3);
  expect(JSON.stringify(stacks.network.resolve(stacks.network.availabilityZones))).toContain('Fn::GetAZs');
});
