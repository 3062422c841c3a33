/**
 * Runs the local engines by hand, the same way the engine tests do:
 *
 *   npm run engines:kafka                 # a broker on 127.0.0.1:9092 until Ctrl-C
 *   npm run engines:kafka -- --port 19092 --topics dev
 *
 * `--topics <env>` creates that environment's catalog topics with the configs its template carries.
 */
import { ConfigResourceTypes } from 'kafkajs';
import { synthEnvironment } from '../support/synth';
import { templateTopics } from '../support/templates';
import { createTemplateTopics } from './harness/clients';
import { LocalKafka } from './harness/kafka';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const engine = args[0];
  const option = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (engine !== 'kafka') {
    console.error('usage: cli.ts kafka [--port N] [--topics dev|staging|prod]');
    process.exit(2);
  }
  const kafka = await LocalKafka.start({ port: Number(option('port') ?? 9092) });
  console.log(`Kafka ${kafka.bootstrap} (KRaft, single node); logs: ${kafka.logFile}`);
  const envName = option('topics');
  if (envName) {
    const topics = templateTopics(synthEnvironment(envName).streaming);
    const admin = kafka.admin();
    await admin.connect();
    await createTemplateTopics(admin, topics);
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.name })),
    });
    await admin.disconnect();
    console.log(
      `created the ${envName} catalog: ${described.resources.map((r) => r.resourceName).join(', ')}`,
    );
  }
  console.log('Ctrl-C stops the broker and removes its data.');
  const stop = () => {
    void kafka.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
