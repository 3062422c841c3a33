import { execFileSync } from 'node:child_process';
import { Socket } from 'node:net';

export const MOSQUITTO_HOST = '127.0.0.1';
export const MOSQUITTO_PORT = 1883;
export const MOSQUITTO_URL = `mqtt://${MOSQUITTO_HOST}:${MOSQUITTO_PORT}`;
export const MOSQUITTO_CONFIG = '/etc/mosquitto/mosquitto.conf';

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => (socket.destroy(), resolve(false)));
    socket.connect(port, host);
  });
}

/**
 * Makes sure the machine's Mosquitto answers on 127.0.0.1:1883. The broker is shared (a system
 * daemon, like the Debian package runs it), so when it is not running it is started as a daemon with
 * the system configuration (`mosquitto -d -c /etc/mosquitto/mosquitto.conf`) and left running.
 * Tests sharing it use unique client ids and topics.
 */
export async function ensureMosquitto(timeoutMs = 10_000): Promise<{ url: string; started: boolean }> {
  if (await portOpen(MOSQUITTO_HOST, MOSQUITTO_PORT)) return { url: MOSQUITTO_URL, started: false };
  try {
    execFileSync('mosquitto', ['-d', '-c', MOSQUITTO_CONFIG], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(
      `cannot start Mosquitto (is the mosquitto package installed?): ${(err as Error).message} ${stderr}`,
    );
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(MOSQUITTO_HOST, MOSQUITTO_PORT)) return { url: MOSQUITTO_URL, started: true };
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Mosquitto started but ${MOSQUITTO_URL} did not open within ${timeoutMs} ms`);
}
