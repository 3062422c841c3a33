import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { logger } from '../shared/powertools';
import { setUpSearch, type SearchSetupEvent } from './setup';

/** Custom resource handler (lib/events/search-domain.ts): signed requests (SigV4, service `es`). */
export async function handler(event: SearchSetupEvent) {
  const result = await setUpSearch(event, (endpoint) => {
    const client = new Client({
      ...AwsSigv4Signer({
        region: process.env.AWS_REGION!,
        service: 'es',
        getCredentials: defaultProvider(),
      }),
      node: endpoint,
      requestTimeout: 30_000,
    });
    return client.transport;
  });
  logger.info('search set-up', { requestType: event.RequestType, ...result });
  return result;
}
