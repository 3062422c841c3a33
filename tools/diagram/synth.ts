/**
 * The templates the diagram is drawn from: the default environment (`dev`), synthesized offline as
 * the unit tests do, with the tests' Snowflake account so that the warehouse leg is in it, and
 * with construct paths in the metadata.
 */
import type { CloudFormationStackArtifact } from 'aws-cdk-lib/cx-api';
import { buildApp } from '../../test/support/synth';
import { withSnowflake } from '../../test/support/warehouse';
import type { CfnTemplate, Templates } from './templates';

/** The environment the README's diagram shows. */
export const DIAGRAM_ENVIRONMENT = 'dev';

export function diagramTemplates(): Templates {
  const { app } = buildApp(DIAGRAM_ENVIRONMENT, {
    ...withSnowflake(DIAGRAM_ENVIRONMENT),
    'aws:cdk:enable-path-metadata': true,
  });
  return new Map(
    app.synth().stacks.map((s: CloudFormationStackArtifact) => [s.stackName, s.template as CfnTemplate]),
  );
}
