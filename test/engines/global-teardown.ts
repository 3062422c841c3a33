import type { LocalKafka } from './harness/kafka';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __localKafka?: LocalKafka }).__localKafka?.stop();
}
