import type { Construct } from 'constructs';
import { join } from 'node:path';
import { MskConnectPlugin } from '../connect/msk-connect-plugin';
import { filesUnder, hashSources } from '../private/source-hash';
import {
  SNOWFLAKE_CONNECTOR,
  SNOWFLAKE_CONNECTOR_COORDINATES,
  SNOWFLAKE_PLUGIN_PROJECT_DIR,
  SNOWFLAKE_PLUGIN_ZIP,
  SNOWFLAKE_PLUGIN_ZIP_SHA256,
} from './snowflake-config';

/** The config provider module built into the same ZIP. */
const PROVIDER_DIR = join(SNOWFLAKE_PLUGIN_PROJECT_DIR, '..', 'secrets-manager-config-provider');

let pluginHash: string | undefined;

/**
 * Hash of what determines the ZIP's content: the pinned coordinates, the poms, the assembly
 * descriptor and the provider's sources (the build is reproducible). The ~160 MB ZIP itself is never
 * hashed: CDK reuses the staged asset of this hash and runs no Maven build for it.
 */
export function snowflakePluginSourceHash(): string {
  pluginHash ??= hashSources(
    SNOWFLAKE_PLUGIN_PROJECT_DIR,
    [
      join(SNOWFLAKE_PLUGIN_PROJECT_DIR, 'pom.xml'),
      join(SNOWFLAKE_PLUGIN_PROJECT_DIR, 'plugin-zip.xml'),
      join(PROVIDER_DIR, 'pom.xml'),
      ...filesUnder(join(PROVIDER_DIR, 'src', 'main')),
    ],
    SNOWFLAKE_CONNECTOR_COORDINATES,
  );
  return pluginHash;
}

export interface SnowflakePluginProps {
  readonly platformName: string;
  readonly envName: string;
}

/**
 * The Snowflake Kafka connector (and the platform's Secrets Manager config provider) as an MSK
 * Connect custom plugin, named `<platform>-<env>-snowflake-sink-<version>-<source hash>`. Created
 * only in an environment that configures a Snowflake account, so no other synth builds the ZIP.
 */
export class SnowflakePlugin extends MskConnectPlugin {
  constructor(scope: Construct, id: string, props: SnowflakePluginProps) {
    super(scope, id, {
      projectDir: SNOWFLAKE_PLUGIN_PROJECT_DIR,
      zip: SNOWFLAKE_PLUGIN_ZIP,
      checksumFile: SNOWFLAKE_PLUGIN_ZIP_SHA256,
      sourceHash: snowflakePluginSourceHash(),
      namePrefix: `${props.platformName}-${props.envName}-snowflake-sink`,
      version: SNOWFLAKE_CONNECTOR.version,
      description: `Snowflake Kafka connector ${SNOWFLAKE_CONNECTOR.version} with the Secrets Manager config provider`,
    });
  }
}
