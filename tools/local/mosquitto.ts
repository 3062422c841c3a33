/**
 * A Mosquitto broker of the run's own (the machine's `mosquitto` binary, on a free loopback port,
 * nothing persisted). The harness's shared daemon on 1883 (test/engines/harness/mosquitto.ts) serves
 * every run and test on the machine: two runs there would each bridge the other's devices (the same
 * topic filter) and take over each other's device connections (the same client ids). Its own
 * broker keeps a run's devices and bridge to themselves.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopProcess } from '../../test/engines/harness/jvm';
import { freePort, waitForPort } from '../../test/engines/harness/ports';

export interface PrivateMosquitto {
  readonly url: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export async function startPrivateMosquitto(dir: string): Promise<PrivateMosquitto> {
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(
    config,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      // The bridge acknowledges a message only once Kafka has it: room for a burst meanwhile.
      'max_queued_messages 100000',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
    ].join('\n') + '\n',
  );
  const child = spawn('mosquitto', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  try {
    await waitForPort(port, 10_000, () => child.exitCode === null);
  } catch (err) {
    await stopProcess(child, { graceMs: 1000 });
    throw new Error(`Mosquitto did not start: ${(err as Error).message}\n${stderr}`);
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    pid: child.pid,
    stop: () => stopProcess(child, { graceMs: 5_000 }),
  };
}
