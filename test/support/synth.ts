import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadEnvironments, type EnvironmentConfig } from '../../lib/config/platform-config';
import { buildEnvironment, type PlatformStacks } from '../../lib/platform';

/** The context of cdk.json, as the CLI passes it to the app. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

export const ENVIRONMENTS = Object.keys(cdkJsonContext().environments as object);

/** The validated configuration of one environment, with optional `-c` style overrides. */
export function configFor(envName: string, overrides: Record<string, unknown> = {}): EnvironmentConfig {
  const [config] = loadEnvironments({ ...cdkJsonContext(), env: envName, ...overrides });
  return config!;
}

/** Builds one environment's stacks without synthesizing them (for tests that add constructs). */
export function buildApp(
  envName: string,
  overrides: Record<string, unknown> = {},
  options: { account?: string; region?: string } = {},
): { app: App; stacks: PlatformStacks } {
  const app = new App({
    context: {
      ...cdkJsonContext(),
      env: envName,
      'aws:cdk:bundling-stacks': [],
      // Annotations stay metadata (asserted with Annotations.fromStack) instead of printed reports.
      '@aws-cdk/core:annotationsInValidationReport': false,
      ...overrides,
    },
    builtinCloudFormationValidation: false,
  });
  const config = loadEnvironments(app.node.getAllContext())[0]!;
  const stacks = buildEnvironment(app, { ...config, account: options.account, region: options.region });
  return { app, stacks };
}

export interface SynthesizedEnvironment {
  readonly app: App;
  readonly stacks: PlatformStacks;
  readonly network: Template;
  readonly streaming: Template;
  readonly sources: Template;
  readonly events: Template;
  readonly telemetry: Template;
  /** Only when the environment configures a Snowflake account (test/support/warehouse.ts). */
  readonly warehouse?: Template;
  readonly monitoring: Template;
}

/**
 * Builds one environment offline: fixed dummy account/region, no bundling, and (for speed) without
 * the built-in CloudFormation validation, which test/unit/cfn-validation.test.ts runs on its own.
 */
export function synthEnvironment(
  envName: string,
  overrides: Record<string, unknown> = {},
  options: { account?: string; region?: string } = {},
): SynthesizedEnvironment {
  const { app, stacks } = buildApp(envName, overrides, options);
  return {
    app,
    stacks,
    network: Template.fromStack(stacks.network),
    streaming: Template.fromStack(stacks.streaming),
    sources: Template.fromStack(stacks.sources),
    events: Template.fromStack(stacks.events),
    telemetry: Template.fromStack(stacks.telemetry),
    warehouse: stacks.warehouse && Template.fromStack(stacks.warehouse),
    monitoring: Template.fromStack(stacks.monitoring),
  };
}
