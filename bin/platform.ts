#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../lib/config/errors';
import { loadEnvironments } from '../lib/config/platform-config';
import { buildEnvironment } from '../lib/platform';
import { validateOnWorker } from '../lib/private/parallel-validation';

const app = new App();
// The built-in template validation starts its engine now, on a worker, while the stacks are built.
validateOnWorker(app);
try {
  for (const config of loadEnvironments(app.node.getAllContext() as Record<string, unknown>))
    buildEnvironment(app, config);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
app.synth();
