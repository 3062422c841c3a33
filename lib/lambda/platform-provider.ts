import { RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';

/**
 * A custom-resource Provider whose framework functions log to ONE log group `<id>Logs` with the
 * environment's retention and data rule (kept on delete unless `removeDataOnDestroy`), like every
 * platform function; without it the CDK gives each framework function a log group of its own, kept
 * 731 days and retained even where the environment destroys its data.
 */
export function platformProvider(
  scope: Construct,
  id: string,
  config: EnvironmentConfig,
  props: Omit<cr.ProviderProps, 'logGroup' | 'logRetention'>,
): cr.Provider {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: config.msk.logRetentionDays as logs.RetentionDays,
    removalPolicy: config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  });
  return new cr.Provider(scope, id, { ...props, logGroup });
}
