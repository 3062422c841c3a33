/**
 * `npm run topic:read` (tools/read-topic.ts) against the broker of global-setup.ts: the command
 * prints partition, offset, key, headers and value of each record, stops after `--max`, and leaves
 * no consumer group behind; as a library, a failed read leaves nothing open.
 */
import { execFile } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Admin } from 'kafkajs';
import { readTopic } from '../../tools/read-topic';
import { bootstrap, connectAdmin, deleteTopicsAndWait, kafkaClient } from './harness/clients';

const TOPIC = 'probe.read-topic';
const ROOT = resolve(__dirname, '..', '..');
let admin: Admin;

async function readTopicCli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', 'tools/read-topic.ts', ...args],
    { cwd: ROOT, timeout: 60_000 },
  );
}

beforeAll(async () => {
  admin = await connectAdmin();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 1 }],
  });
  const producer = kafkaClient('read-topic-test').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({
    topic: TOPIC,
    acks: -1,
    messages: [
      { key: 'user-1', value: '{"n":1}', headers: { traceparent: 'tp-1' } },
      { key: null, value: 'no key' },
      { key: 'user-1', value: null },
      { key: 'bin', value: Buffer.from([0xff, 0x00]) },
    ],
  });
  await producer.disconnect();
});

afterAll(async () => {
  await deleteTopicsAndWait(admin, [TOPIC]);
  await admin.disconnect();
});

test('prints partition, offset, key, headers and value of each record, from the beginning, up to --max', async () => {
  const groupsBefore = (await admin.listGroups()).groups.map((g) => g.groupId);
  const { stdout, stderr } = await readTopicCli(
    '--brokers',
    bootstrap(),
    '--topic',
    TOPIC,
    '--from-beginning',
    '--max',
    '4',
    '--headers',
  );
  expect(stdout.split('\n')).toEqual([
    'p0@0 key=user-1 headers={"traceparent":"tp-1"} value={"n":1}',
    'p0@1 key=(none) headers={} value=no key',
    'p0@2 key=user-1 headers={} value=(tombstone)',
    'p0@3 key=bin headers={} value=base64:/wA=',
    '',
  ]);
  expect(stderr).toBe(`4 record(s) from ${TOPIC}\n`);
  // The fresh group it used is gone.
  expect((await admin.listGroups()).groups.map((g) => g.groupId).sort()).toEqual(groupsBefore.sort());
});

test('without --headers, --max 2 prints the first two records only', async () => {
  const { stdout } = await readTopicCli(
    '--brokers',
    bootstrap(),
    '--topic',
    TOPIC,
    '--from-beginning',
    '--max',
    '2',
  );
  expect(stdout).toBe('p0@0 key=user-1 value={"n":1}\np0@1 key=(none) value=no key\n');
});

test('--to-end stops at the end the topic had at the start', async () => {
  const { stdout, stderr } = await readTopicCli(
    '--brokers',
    bootstrap(),
    '--topic',
    TOPIC,
    '--from-beginning',
    '--to-end',
  );
  expect({ stdout, stderr }).toEqual({
    stdout:
      'p0@0 key=user-1 value={"n":1}\np0@1 key=(none) value=no key\np0@2 key=user-1 value=(tombstone)\n' +
      'p0@3 key=bin value=base64:/wA=\n',
    stderr: `4 record(s) from ${TOPIC}\n`,
  });
});

test('without --from-beginning it waits for new records; --timeout ends it', async () => {
  const { stdout, stderr } = await readTopicCli(
    '--brokers',
    bootstrap(),
    '--topic',
    TOPIC,
    '--timeout',
    '3000',
  );
  expect({ stdout, stderr }).toEqual({ stdout: '', stderr: `0 record(s) from ${TOPIC}\n` });
});

test('a missing --topic is a usage error', async () => {
  await expect(readTopicCli('--brokers', bootstrap())).rejects.toMatchObject({
    code: 2,
    stderr: expect.stringContaining('usage: read-topic --topic NAME'),
  });
});

test('reading a topic that does not exist rejects and leaves no connection, timer or abort listener behind', async () => {
  const signal = new AbortController().signal;
  const resources = (): Record<string, number> => {
    const by: Record<string, number> = {};
    for (const r of process.getActiveResourcesInfo()) by[r] = (by[r] ?? 0) + 1;
    return { TCPWrap: by.TCPWrap ?? 0, Timeout: by.Timeout ?? 0 };
  };
  const before = resources();
  await expect(
    readTopic({
      brokers: [bootstrap()],
      topic: 'probe.read-topic-missing',
      fromBeginning: true,
      toEnd: true,
      timeoutMs: 600_000,
      signal,
    }),
  ).rejects.toThrow(/topic|partition/i);
  await new Promise((r) => setTimeout(r, 500));
  expect(resources()).toEqual(before);
  expect(getEventListeners(signal, 'abort')).toEqual([]);
});
