/**
 * cdc.orders by hand on the local engines, set up the way test/engines/cdc.test.ts sets them up:
 *
 *   npx ts-node --transpile-only test/engines/connect/cli.ts           # until Ctrl-C
 *   npx ts-node --transpile-only test/engines/connect/cli.ts --demo    # one insert, update, delete; exits
 *
 * Starts a Kafka broker (or uses `--bootstrap host:port`), creates cdc.orders with the dev template's
 * configs and the heartbeat topic, a fresh PostgreSQL database with public.orders, a Kafka Connect
 * 3.7 worker with the Debezium plugin ZIP (credentials through the platform's Secrets Manager
 * config provider and a local stub of the service) and the connector, then prints every record of cdc.orders
 * as `partition@offset key -> value`. Ctrl-C (or the end of --demo) removes all of it, in order:
 * connector (its task commits), worker, database, topics, broker.
 *
 * Ctrl-C in a terminal signals the whole foreground process group. Were the JVMs in it, the broker
 * would stop at the same moment as the worker, and the worker would spend tens of seconds retrying
 * a broker that is gone. So the CLI runs its pipeline in a child process in a process group of its
 * own (with the JVMs it starts): only this parent gets the terminal's SIGINT, and it asks the child
 * once to stop in order (a second Ctrl-C kills the group at once).
 */
import { randomBytes } from 'node:crypto';
import { DEBEZIUM_VERSION, renderDebeziumPostgresConfig } from '../../../lib/cdc/debezium-config';
import { TOPIC_SPECS } from '../../../lib/topics/topic-specs';
import { CDC_TOPICS, createCdcTopics, localAwsIdentity, startCdcWorker } from '../harness/cdc';
import { connectAdmin, deleteTopicsAndWait, kafkaClient } from '../harness/clients';
import { LocalConnect } from '../harness/connect';
import { LocalKafka } from '../harness/kafka';
import { CdcDatabase } from '../harness/postgres';
import { cliArgs, inOwnProcessGroup, runInOwnProcessGroup } from '../harness/process-group';
import { SecretsManagerStub } from '../harness/secrets-manager-stub';

const TOPIC = TOPIC_SPECS.cdcOrders.name;
const CONNECTOR = 'cdc-orders-postgres';
const SLOT = 'platform_cdc';
const PUBLICATION = 'platform_cdc';
const SECRET_NAME = 'streaming-local-orders-cdc-db';

async function main(): Promise<void> {
  const args = cliArgs();
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
    await createCdcTopics(admin);
    cleanups.push(() => deleteTopicsAndWait(admin, [...CDC_TOPICS]));

    const db = await CdcDatabase.create({ publicationName: PUBLICATION });
    cleanups.push(() => db.drop({ slotName: SLOT, publicationName: PUBLICATION }));
    // The platform's Secrets Manager provider, against a local stub of the service.
    const identity = localAwsIdentity();
    const secrets = await SecretsManagerStub.start(identity);
    cleanups.push(() => secrets.stop());
    secrets.putSecret(SECRET_NAME, { username: db.user, password: db.password });
    const connect = await startCdcWorker(secrets, identity);
    cleanups.push(() => deleteTopicsAndWait(admin, LocalConnect.internalTopics(connect.clusterId)));
    cleanups.push(() => connect.stop());
    cleanups.push(() => connect.deleteConnector(CONNECTOR));
    await connect.putConnector(
      CONNECTOR,
      renderDebeziumPostgresConfig({
        connectorName: CONNECTOR,
        database: { host: db.host, port: db.port, name: db.name },
        secretReference: SECRET_NAME,
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
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      console.log('Stopping: connector, worker, database, topics, broker ...');
      void cleanUp().then(() => process.exit(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } catch (err) {
    console.error(err);
    await cleanUp();
    process.exit(1);
  }
}

if (inOwnProcessGroup()) void main();
else runInOwnProcessGroup(__filename);
