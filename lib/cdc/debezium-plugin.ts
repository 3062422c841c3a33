import { AssetHashType, DockerImage, type ILocalBundling } from 'aws-cdk-lib';
import * as kafkaconnect from 'aws-cdk-lib/aws-kafkaconnect';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { EnvironmentConfig } from '../config/platform-config';
import { filesUnder, hashSources } from '../private/source-hash';
import {
  DEBEZIUM_PLUGIN_PROJECT_DIR,
  DEBEZIUM_PLUGIN_ZIP,
  DEBEZIUM_PLUGIN_ZIP_SHA256,
  DEBEZIUM_VERSION,
} from './debezium-config';

/**
 * Builds the plugin ZIP with Maven from the pinned coordinates in connect/debezium-postgres/pom.xml,
 * checks it against the checksum the build wrote, and hands CDK the ZIP itself (uploaded as is).
 */
class MavenPluginBundling implements ILocalBundling {
  tryBundle(outputDir: string): boolean {
    execFileSync('mvn', ['-B', '-q', '-f', join(DEBEZIUM_PLUGIN_PROJECT_DIR, 'pom.xml'), 'package'], {
      stdio: 'inherit',
    });
    const expected = readFileSync(DEBEZIUM_PLUGIN_ZIP_SHA256, 'utf8').split(/\s+/)[0];
    const actual = createHash('sha256').update(readFileSync(DEBEZIUM_PLUGIN_ZIP)).digest('hex');
    if (expected !== actual)
      throw new Error(`${DEBEZIUM_PLUGIN_ZIP}: checksum ${actual} does not match ${expected}`);
    copyFileSync(DEBEZIUM_PLUGIN_ZIP, join(outputDir, basename(DEBEZIUM_PLUGIN_ZIP)));
    return true;
  }
}

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
 * Connect custom plugin. MSK Connect copies a plugin at creation and cannot update it, so the
 * plugin's name and construct id carry the Debezium version and a hash of the plugin's sources: any
 * change is a new `AWS::KafkaConnect::CustomPlugin`, and the connector moves to it.
 */
export class DebeziumPlugin extends Construct {
  public readonly asset: s3assets.Asset;
  public readonly plugin: kafkaconnect.CfnCustomPlugin;

  constructor(scope: Construct, id: string, props: DebeziumPluginProps) {
    super(scope, id);
    const sourceHash = pluginSourceHash();
    const version = `${DEBEZIUM_VERSION.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}-${sourceHash.slice(0, 8)}`;
    this.asset = new s3assets.Asset(this, 'Zip', {
      path: DEBEZIUM_PLUGIN_PROJECT_DIR,
      assetHash: sourceHash,
      assetHashType: AssetHashType.CUSTOM,
      bundling: {
        // Maven on this machine builds it; there is no container fallback.
        image: DockerImage.fromRegistry('maven-local-bundling-only'),
        local: new MavenPluginBundling(),
      },
    });
    this.plugin = new kafkaconnect.CfnCustomPlugin(this, `Plugin-${version}`, {
      name: `${props.config.platformName}-${props.config.envName}-debezium-postgres-${version}`,
      description: `Debezium PostgreSQL connector ${DEBEZIUM_VERSION} with the Secrets Manager config provider`,
      contentType: 'ZIP',
      location: { s3Location: { bucketArn: this.asset.bucket.bucketArn, fileKey: this.asset.s3ObjectKey } },
    });
  }
}
