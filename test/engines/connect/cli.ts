/**
 * cdc.orders by hand on the local engines, set up the way test/engines/cdc.test.ts sets them up:
 *
 *   npx ts-node --transpile-only test/engines/connect/cli.ts           # until Ctrl-C
 *   npx ts-node --transpile-only test/engines/connect/cli.ts --demo    # one insert, update, delete; exits
 *
 * Starts a Kafka broker (or uses `--bootstrap host:port`), creates cdc.orders with the dev template's
 * configs and the heartbeat topic, a fresh PostgreSQL database with public.orders, a Kafka Connect
 * 3.7 worker with the Debezium plugin ZIP and the connector, then prints every record of cdc.orders
 * as `partition@offset key -> value`. Ctrl-C (or the end of --demo) removes all of it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CDC_HEARTBEAT_TOPIC,
  CDC_HEARTBEAT_TOPIC_SETTINGS,
  DEBEZIUM_VERSION,
  renderDebeziumPostgresConfig,
  renderWorkerConfig,
} from '../../../lib/cdc/debezium-config';
import { TOPIC_SPECS } from '../../../lib/topics/topic-specs';
import { synthEnvironment } from '../../support/synth';
import { templateTopics } from '../../support/templates';
import { connectAdmin, createTemplateTopics, deleteTopicsAndWait, kafkaClient } from '../harness/clients';
import { LocalConnect } from '../harness/connect';
import { ENGINES_DIR, LocalKafka } from '../harness/kafka';
import { CdcDatabase } from '../harness/postgres';

const TOPIC = TOPIC_SPECS.cdcOrders.name;
const CONNECTOR = 'cdc-orders-postgres';
const SLOT = 'platform_cdc';
const PUBLICATION = 'platform_cdc';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const demo = args.includes('--demo');
  const i = args.indexOf('--bootstrap');
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanUp = async () => {
    for (const step of cleanups.reverse()) await step().catch((err: unknown) => console.error(err));
  };
  try {
    let kafka: LocalKafka | undefined;
    if (i >= 0) process.env.KAFKA_BOOTSTRAP = args[i + 1];
    else {
      kafka = await LocalKafka.start();
      process.env.KAFKA_BOOTSTRAP = kafka.bootstrap;
      cleanups.push(() => kafka!.stop());
    }
    console.log(`Kafka ${process.env.KAFKA_BOOTSTRAP}`);

    const admin = await connectAdmin();
    cleanups.push(() => admin.disconnect());
    await createTemplateTopics(
      admin,
      templateTopics(synthEnvironment('dev').streaming).filter((t) => t.name === TOPIC),
    );
    await admin.createTopics({
      topics: [
        {
          topic: CDC_HEARTBEAT_TOPIC,
          numPartitions: CDC_HEARTBEAT_TOPIC_SETTINGS.partitions,
          configEntries: [
            { name: 'cleanup.policy', value: CDC_HEARTBEAT_TOPIC_SETTINGS.cleanupPolicy! },
            { name: 'retention.ms', value: String(CDC_HEARTBEAT_TOPIC_SETTINGS.retention) },
          ],
        },
      ],
    });
    cleanups.push(() => deleteTopicsAndWait(admin, [TOPIC, CDC_HEARTBEAT_TOPIC]));

    const db = await CdcDatabase.create();
    cleanups.push(() => db.drop({ slotName: SLOT, publicationName: PUBLICATION }));
    mkdirSync(ENGINES_DIR, { recursive: true });
    const secretsFile = join(ENGINES_DIR, `cdc-secrets-${randomBytes(4).toString('hex')}.properties`);
    writeFileSync(secretsFile, `username=${db.user}\npassword=${db.password}\n`, { mode: 0o600 });
    cleanups.push(() => Promise.resolve(rmSync(secretsFile, { force: true })));

    const connect = await LocalConnect.start({
      workerConfig: renderWorkerConfig({
        secretsProvider: { className: 'org.apache.kafka.common.config.provider.FileConfigProvider' },
      }),
    });
    cleanups.push(() => deleteTopicsAndWait(admin, LocalConnect.internalTopics(connect.clusterId)));
    cleanups.push(() => connect.stop());
    cleanups.push(() => connect.deleteConnector(CONNECTOR));
    await connect.putConnector(
      CONNECTOR,
      renderDebeziumPostgresConfig({
        connectorName: CONNECTOR,
        database: { host: db.host, port: db.port, name: db.name },
        secretReference: secretsFile,
        slotName: SLOT,
        publicationName: PUBLICATION,
        topic: TOPIC,
        snapshotMode: 'initial',
        heartbeatIntervalMs: 10_000,
        sslMode: 'disable',
      }),
    );
    await connect.waitForRunning(CONNECTOR);
    console.log(
      `Debezium ${DEBEZIUM_VERSION} on Kafka Connect ${connect.url}; worker log: ${connect.logFile}`,
    );

    const consumer = kafkaClient('cdc-cli').consumer({
      groupId: `cdc-cli-${randomBytes(4).toString('hex')}`,
    });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    let seen = 0;
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        seen++;
        console.log(
          `${TOPIC} ${partition}@${message.offset} ${message.key?.toString() ?? 'null'} -> ${message.value?.toString() ?? 'null (tombstone)'}`,
        );
        return Promise.resolve();
      },
    });

    if (demo) {
      await db.client.query(
        "INSERT INTO public.orders VALUES (42, 'user-1', 'created', 1999, 'EUR', now(), now())",
      );
      await db.client.query("UPDATE public.orders SET status = 'paid', updated_at = now() WHERE id = 42");
      await db.client.query('DELETE FROM public.orders WHERE id = 42');
      const deadline = Date.now() + 30_000;
      while (seen < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      await cleanUp();
      process.exit(seen >= 4 ? 0 : 1);
    }
    console.log(
      `Change a row, e.g.:\n  psql -h ${db.host} -p ${db.port} -U postgres -d ${db.name} -c ` +
        `"INSERT INTO public.orders VALUES (42, 'user-1', 'created', 1999, 'EUR', now(), now())"\n` +
        'Ctrl-C stops everything and removes the database, slot, topics and worker.',
    );
    const stop = () => void cleanUp().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } catch (err) {
    console.error(err);
    await cleanUp();
    process.exit(1);
  }
}

void main();
