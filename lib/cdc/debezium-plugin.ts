import type { Construct } from 'constructs';
import { join } from 'node:path';
import { MskConnectPlugin } from '../connect/msk-connect-plugin';
import type { EnvironmentConfig } from '../config/platform-config';
import { filesUnder, hashSources } from '../private/source-hash';
import {
  DEBEZIUM_PLUGIN_PROJECT_DIR,
  DEBEZIUM_PLUGIN_ZIP,
  DEBEZIUM_PLUGIN_ZIP_SHA256,
  DEBEZIUM_VERSION,
} from './debezium-config';

/** The config provider module built into the same ZIP. */
const PROVIDER_DIR = join(DEBEZIUM_PLUGIN_PROJECT_DIR, '..', 'secrets-manager-config-provider');

/**
 * Hash of what determines the plugin's content: the pinned poms, the assembly descriptor and the
 * provider's sources (the build is reproducible, so equal inputs give an equal ZIP).
 */
let pluginHash: string | undefined;

export function pluginSourceHash(): string {
  pluginHash ??= hashSources(
    DEBEZIUM_PLUGIN_PROJECT_DIR,
    [
      join(DEBEZIUM_PLUGIN_PROJECT_DIR, 'pom.xml'),
      join(DEBEZIUM_PLUGIN_PROJECT_DIR, 'plugin-zip.xml'),
      join(PROVIDER_DIR, 'pom.xml'),
      ...filesUnder(join(PROVIDER_DIR, 'src', 'main')),
    ],
    DEBEZIUM_VERSION,
  );
  return pluginHash;
}

export interface DebeziumPluginProps {
  readonly config: EnvironmentConfig;
}

/**
 * The Debezium PostgreSQL connector (and the platform's Secrets Manager config provider) as an MSK
 * Connect custom plugin, named `<platform>-<env>-debezium-postgres-<version>-<source hash>`.
 */
export class DebeziumPlugin extends MskConnectPlugin {
  constructor(scope: Construct, id: string, props: DebeziumPluginProps) {
    super(scope, id, {
      projectDir: DEBEZIUM_PLUGIN_PROJECT_DIR,
      zip: DEBEZIUM_PLUGIN_ZIP,
      checksumFile: DEBEZIUM_PLUGIN_ZIP_SHA256,
      sourceHash: pluginSourceHash(),
      namePrefix: `${props.config.platformName}-${props.config.envName}-debezium-postgres`,
      version: DEBEZIUM_VERSION,
      description: `Debezium PostgreSQL connector ${DEBEZIUM_VERSION} with the Secrets Manager config provider`,
    });
  }
}
