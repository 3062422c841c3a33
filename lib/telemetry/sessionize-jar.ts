import { AssetHashType, DockerImage, type ILocalBundling } from 'aws-cdk-lib';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesUnder, hashSources } from '../private/source-hash';

/** The Maven module of the sessionize job (docs/telemetry-path.md). */
export const SESSIONIZE_PROJECT_DIR = join(__dirname, '..', '..', 'flink-sql');
/** The shaded jar `mvn package` writes into target/ (the pom's finalName). */
const JAR_NAME = 'telemetry-sessionize.jar';

/** What the jar is built from (and hashed over): the pom, src/main and the SQL. */
const BUILD_INPUTS = ['pom.xml', join('src', 'main'), 'sql'];

/**
 * Builds the shaded jar with Maven on this machine and hands CDK the jar itself (uploaded as is).
 * Maven runs in a private copy of exactly the hashed inputs, not in flink-sql/: the asset is then
 * what its hash says, and a build there (the engine tests, another synth) cannot collide with it
 * in flink-sql/target.
 */
class MavenJarBundling implements ILocalBundling {
  tryBundle(outputDir: string): boolean {
    const build = mkdtempSync(join(tmpdir(), 'sessionize-jar-'));
    try {
      for (const input of BUILD_INPUTS) {
        const from = join(SESSIONIZE_PROJECT_DIR, input);
        if (existsSync(from)) cpSync(from, join(build, input), { recursive: true });
      }
      execFileSync('mvn', ['-B', '-q', '-f', join(build, 'pom.xml'), 'package', '-DskipTests'], {
        stdio: 'inherit',
      });
      const jar = join(build, 'target', JAR_NAME);
      if (!existsSync(jar)) throw new Error(`mvn package wrote no target/${JAR_NAME}`);
      copyFileSync(jar, join(outputDir, JAR_NAME));
    } finally {
      rmSync(build, { recursive: true, force: true });
    }
    return true;
  }
}

/** The files under `dir`, or none while the directory does not exist yet. */
const filesIfAny = (dir: string): string[] => (existsSync(dir) ? filesUnder(dir) : []);

let jarHash: string | undefined;

/**
 * Hash of what the jar is built from: the pom, the Java sources and resources (src/main) and the
 * SQL the runner executes (sql/). Equal inputs give an equal jar, so CDK reuses the staged jar from
 * the output directory and Maven runs only when one of them changes.
 */
export function sessionizeSourceHash(): string {
  jarHash ??= hashSources(
    SESSIONIZE_PROJECT_DIR,
    BUILD_INPUTS.flatMap((input) => {
      const path = join(SESSIONIZE_PROJECT_DIR, input);
      return input === 'pom.xml' ? [path] : filesIfAny(path);
    }),
  );
  return jarHash;
}

/**
 * The sessionize job's shaded jar as an S3 asset: built by Maven on this machine (no container
 * fallback), identified by the hash of its sources ({@link sessionizeSourceHash}), so that a second
 * synth with the same sources does not run Maven.
 */
export class SessionizeJar extends Construct {
  public readonly asset: s3assets.Asset;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.asset = new s3assets.Asset(this, 'Jar', {
      path: SESSIONIZE_PROJECT_DIR,
      assetHash: sessionizeSourceHash(),
      assetHashType: AssetHashType.CUSTOM,
      bundling: {
        // Maven on this machine builds it; there is no container fallback.
        image: DockerImage.fromRegistry('maven-local-bundling-only'),
        local: new MavenJarBundling(),
      },
    });
  }
}
