import { logger } from '../shared/powertools';
import { createSearchTransport } from '../shared/search/transport';
import { setUpSearch, type SearchSetupEvent } from './setup';

/** Custom resource handler (lib/events/search-domain.ts): signed requests (SigV4, service `es`). */
export async function handler(event: SearchSetupEvent) {
  const result = await setUpSearch(event, (endpoint) =>
    createSearchTransport({
      endpoint,
      auth: 'iam',
      region: process.env.AWS_REGION,
      requestTimeoutMs: 30_000,
      maxRetries: 3,
    }),
  );
  logger.info('search set-up', { requestType: event.RequestType, ...result });
  return result;
}
