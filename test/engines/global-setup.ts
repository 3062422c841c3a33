import { LocalKafka } from './harness/kafka';

/**
 * One Kafka broker for the whole engines project; tests read its address from KAFKA_BOOTSTRAP and
 * create (and delete) their own topics.
 */
export default async function globalSetup(): Promise<void> {
  const kafka = await LocalKafka.start();
  process.env.KAFKA_BOOTSTRAP = kafka.bootstrap;
  (globalThis as { __localKafka?: LocalKafka }).__localKafka = kafka;
}
