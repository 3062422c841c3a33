/**
 * The ops CLI's Kafka client: the cluster's IAM listener (SASL OAUTHBEARER over TLS with the MSK IAM
 * token of lambda/shared/msk-iam-token.ts, signed with the operator's credentials from the SDK's
 * default chain, asked again for every token), or with `--bootstrap` a plaintext broker (the local
 * engines, the tests). Client settings otherwise those of lambda/shared/kafka-client.ts.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import { kafkaConfig } from '../../lambda/shared/kafka-client';
import { mskIamToken, type AwsCredentials } from '../../lambda/shared/msk-iam-token';

export type KafkaTarget =
  | { readonly kind: 'plaintext'; readonly brokers: string }
  | {
      readonly kind: 'iam';
      readonly brokers: string;
      readonly region: string;
      /** @default the SDK's default credential chain (memoized, refreshed before expiry) */
      readonly credentials?: () => Promise<AwsCredentials>;
    };

export function opsKafkaConfig(target: KafkaTarget, clientId: string): KafkaConfig {
  const base: KafkaConfig = { ...kafkaConfig({ brokers: target.brokers, auth: 'none', clientId }) };
  base.logLevel = logLevel.NOTHING;
  if (target.kind === 'plaintext') return base;
  const { region } = target;
  const credentials = target.credentials ?? defaultProvider();
  return {
    ...base,
    ssl: true,
    sasl: {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({ value: mskIamToken(region, await credentials()).token }),
    },
  };
}

export function opsKafka(target: KafkaTarget, clientId: string): Kafka {
  return new Kafka(opsKafkaConfig(target, clientId));
}
