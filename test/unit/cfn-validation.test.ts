import { App, Stack } from 'aws-cdk-lib';
import * as msk from 'aws-cdk-lib/aws-msk';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadEnvironments } from '../../lib/config/platform-config';
import { buildEnvironment } from '../../lib/platform';
import { cdkJsonContext } from '../support/synth';

/**
 * The CDK's built-in CloudFormation validation (resource schemas and rules, run by `cdk synth`) with
 * cdk.json's `@aws-cdk/core:validateAgainstDefaultRules`, which turns its findings into synth errors.
 */
describe('built-in CloudFormation template validation', () => {
  const context = { ...cdkJsonContext(), '@aws-cdk/core:annotationsInValidationReport': false };

  test('is on, and fails synth on a misspelt or out-of-range property', () => {
    const app = new App({ context, builtinCloudFormationValidation: true });
    const topic = new msk.CfnTopic(new Stack(app, 'Probe'), 'Topic', {
      clusterArn: 'arn:aws:kafka:eu-west-1:123456789012:cluster/probe/0000',
      topicName: 'probe',
      partitionCount: 0,
      replicationFactor: 1,
    });
    topic.addPropertyOverride('Confgs', 'e30=');
    expect(() => app.synth()).toThrow(
      /ERROR Confgs: Additional properties are not allowed[\s\S]*ERROR PartitionCount: 0 is less than the minimum of 1/,
    );
  });

  test('every environment passes it with no finding', () => {
    const app = new App({
      context: { ...context, env: 'all', 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: true,
    });
    for (const config of loadEnvironments(app.node.getAllContext())) buildEnvironment(app, config);
    const assembly = app.synth();
    const reportFile = join(assembly.directory, 'validation-report.json');
    const report = existsSync(reportFile)
      ? (JSON.parse(readFileSync(reportFile, 'utf8')) as {
          pluginReports: { violations: { ruleName: string; description: string }[] }[];
        })
      : { pluginReports: [] };
    const findings = report.pluginReports.flatMap((p) =>
      p.violations.map((v) => `${v.ruleName}: ${v.description}`),
    );
    expect(findings).toEqual([]);
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(
      ['dev', 'prod', 'staging']
        .flatMap((e) => [
          `streaming-${e}-network`,
          `streaming-${e}-streaming`,
          `streaming-${e}-sources`,
          `streaming-${e}-events`,
          `streaming-${e}-telemetry`,
          `streaming-${e}-monitoring`,
        ])
        .sort(),
    );
  });
});
