/**
 * The local CDC pipeline pieces shared by test/engines/cdc.test.ts and test/engines/connect/cli.ts:
 * the catalog topics as the dev template creates them, and a Connect worker configured as MSK
 * Connect's worker configuration is, with the platform's Secrets Manager config provider talking to
 * a local stub of the Secrets Manager API (the service itself cannot run here).
 */
import { randomBytes } from 'node:crypto';
import type { Admin } from 'kafkajs';
import {
  CDC_HEARTBEAT_TOPIC,
  CONNECT_OFFSETS_TOPIC,
  SECRETS_MANAGER_CONFIG_PROVIDER_CLASS,
  renderWorkerConfig,
} from '../../../lib/cdc/debezium-config';
import { TOPIC_SPECS } from '../../../lib/topics/topic-specs';
import { synthEnvironment } from '../../support/synth';
import { templateTopics } from '../../support/templates';
import { createTemplateTopics, deleteTopicsAndWait } from './clients';
import { LocalConnect } from './connect';
import type { SecretsManagerStub } from './secrets-manager-stub';

/** The topics the connector writes: cdc.orders, its heartbeat topic and the shared offsets topic. */
export const CDC_TOPICS: readonly string[] = [
  TOPIC_SPECS.cdcOrders.name,
  CDC_HEARTBEAT_TOPIC,
  CONNECT_OFFSETS_TOPIC,
];

/** Creates (afresh) the CDC topics with exactly the configs the dev template carries. */
export async function createCdcTopics(admin: Admin): Promise<void> {
  const topics = templateTopics(synthEnvironment('dev').streaming).filter((t) => CDC_TOPICS.includes(t.name));
  if (topics.length !== CDC_TOPICS.length)
    throw new Error(`the dev template lacks one of ${CDC_TOPICS.join(', ')}`);
  await deleteTopicsAndWait(admin, [...CDC_TOPICS]);
  await createTemplateTopics(admin, topics);
}

/** Dummy AWS identity of the worker JVM; the stub accepts only requests signed with it. */
export function localAwsIdentity(): {
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
} {
  return {
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIALOCALCONNECTTEST', secretAccessKey: randomBytes(30).toString('base64') },
  };
}

/**
 * A worker whose configuration is what MSK Connect's carries (renderWorkerConfig with the platform's
 * provider class) except the provider's `endpoint`, which points at the stub; the region and the
 * credentials come from the JVM's environment, through the AWS SDK's default chains.
 */
export function startCdcWorker(
  stub: SecretsManagerStub,
  identity: ReturnType<typeof localAwsIdentity>,
  clusterId?: string,
  /** @default the broker of global-setup.ts */
  bootstrap?: string,
): Promise<LocalConnect> {
  return LocalConnect.start({
    clusterId,
    bootstrap,
    workerConfig: renderWorkerConfig({
      secretsProvider: { className: SECRETS_MANAGER_CONFIG_PROVIDER_CLASS, params: { endpoint: stub.url } },
      // The catalog's offsets topic, as in every MSK Connect worker configuration: a connector
      // recreated under the same name on another Connect cluster resumes from it.
      offsetStorageTopic: CONNECT_OFFSETS_TOPIC,
    }),
    env: {
      AWS_ACCESS_KEY_ID: identity.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: identity.credentials.secretAccessKey,
      AWS_REGION: identity.region,
    },
  });
}
