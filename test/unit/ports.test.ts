/**
 * The harness's port wait (test/engines/harness/ports.ts) with a real socket: a port that opens while
 * the event loop is stalled past the deadline (as a synchronous Maven build of another engine starting
 * beside it stalls it) still counts as open; one that never opens fails, naming the port.
 */
import { createServer, type Server } from 'node:net';
import { freePort, waitForPort } from '../engines/harness/ports';

const stall = (ms: number): void => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: nothing else runs meanwhile
  }
};

test('a port that opened during a stall past the deadline is open', async () => {
  const port = await freePort();
  const waiting = waitForPort(port, 300, () => true);
  // The first attempt fails (nothing listens yet), then the loop stalls for twice the timeout.
  await new Promise((r) => setTimeout(r, 50));
  stall(600);
  const server: Server = createServer().listen(port, '127.0.0.1');
  try {
    await expect(waiting).resolves.toBeUndefined();
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('a port that never opens fails after the timeout, naming it; a process that exited fails at once', async () => {
  const port = await freePort();
  await expect(waitForPort(port, 300, () => true)).rejects.toThrow(`port ${port} did not open within 300 ms`);
  await expect(waitForPort(port, 60_000, () => false)).rejects.toThrow(
    `process exited before port ${port} opened`,
  );
});
