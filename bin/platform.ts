#!/usr/bin/env node
// First: starts the template validation engine on a worker while the rest of the app loads.
import { validateOnWorker } from '../lib/private/parallel-validation';
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../lib/config/errors';
import { loadEnvironments } from '../lib/config/platform-config';
import { buildEnvironment } from '../lib/platform';

const app = new App();
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
