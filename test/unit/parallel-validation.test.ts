/**
 * bin/platform.ts runs the CDK's built-in CloudFormation validation on a worker thread
 * (lib/private/parallel-validation.ts). It must find exactly what the default, main-thread plugin
 * finds: the same findings on a broken template, nothing on the platform's.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateOnWorker, validationReportsFromWorker } from '../../lib/private/parallel-validation';
import { cdkJsonContext } from '../support/synth';
import { loadEnvironments } from '../../lib/config/platform-config';
import { buildEnvironment } from '../../lib/platform';

type Report = {
  pluginReports: { pluginName: string; violations: { ruleName: string; description: string }[] }[];
};

function findingsOf(app: App): { error: string; findings: string[] } {
  let error = '';
  try {
    app.synth();
  } catch (e) {
    error = (e as Error).message;
  }
  const file = join(app.outdir, 'validation-report.json');
  const report = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Report)
    : { pluginReports: [] };
  return {
    error,
    findings: report.pluginReports
      .flatMap((p) => p.violations.map((v) => `${v.ruleName}: ${v.description}`))
      .sort(),
  };
}

function brokenApp(onWorker: boolean): App {
  const app = new App({
    context: { ...cdkJsonContext(), '@aws-cdk/core:annotationsInValidationReport': false },
    builtinCloudFormationValidation: true,
  });
  if (onWorker) validateOnWorker(app);
  const bucket = new s3.Bucket(new Stack(app, 'Probe'), 'Bucket');
  (bucket.node.defaultChild as s3.CfnBucket).addPropertyOverride('Foo', 1);
  return app;
}

test('on the worker, a broken template fails synth with exactly the default plugin findings', () => {
  const expected = findingsOf(brokenApp(false));
  const before = validationReportsFromWorker();
  const actual = findingsOf(brokenApp(true));
  // The report really came from the worker, not from the main-thread fallback.
  expect(validationReportsFromWorker()).toBe(before + 1);
  expect(expected.findings.length).toBeGreaterThan(0);
  expect(expected.findings.join('\n')).toMatch(/Foo/);
  expect(actual.findings).toEqual(expected.findings);
  expect(actual.error).not.toBe('');
});

test('on the worker, every environment of the platform passes with no finding', () => {
  const app = new App({
    context: {
      ...cdkJsonContext(),
      env: 'all',
      'aws:cdk:bundling-stacks': [],
      '@aws-cdk/core:annotationsInValidationReport': false,
    },
    builtinCloudFormationValidation: true,
  });
  validateOnWorker(app);
  for (const config of loadEnvironments(app.node.getAllContext())) buildEnvironment(app, config);
  const before = validationReportsFromWorker();
  expect(findingsOf(app)).toEqual({ error: '', findings: [] });
  expect(validationReportsFromWorker()).toBe(before + 1);
});
