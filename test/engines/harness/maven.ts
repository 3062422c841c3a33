import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Resolves an engine's class path from Maven Central with the engine's pom.xml (pinned versions),
 * once: `mvn dependency:copy-dependencies` into `<pomDir>/target/lib`, redone when the pom changes.
 * Returns the class path (`<pomDir>/target/lib/*`).
 */
export function resolveClasspath(pomDir: string): string {
  const pom = join(pomDir, 'pom.xml');
  const lib = join(pomDir, 'target', 'lib');
  const stale =
    !existsSync(lib) || readdirSync(lib).length === 0 || statSync(pom).mtimeMs > statSync(lib).mtimeMs;
  if (stale) {
    execFileSync('mvn', ['-B', '-q', '-f', pom, 'dependency:copy-dependencies'], { stdio: 'inherit' });
  }
  return `${lib}/*`;
}

/** The `java` to run engines with: `$JAVA_HOME/bin/java` when set, else the one on PATH. */
export function javaExecutable(): string {
  const home = process.env.JAVA_HOME;
  return home && existsSync(join(home, 'bin', 'java')) ? join(home, 'bin', 'java') : 'java';
}
