/**
 * Sends sample app events (schema v1) to a deployed ingest endpoint (SigV4-signed, IAM auth) or
 * straight to a Kafka broker through the same ingest logic the function runs.
 *
 *   npm run events:send -- --local 127.0.0.1:9092 --count 20 --users 5
 *   npm run events:send -- --endpoint https://<api>.execute-api.<region>.amazonaws.com/prod/events --region eu-west-1
 *   ... --invalid 2     also sends 2 invalid events in the same batch (the batch is refused, nothing written)
 *   ... --env staging   with --local: the limits of that environment's catalog (default dev)
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ingest, type IngestResponse } from '../lambda/ingest/ingest';
import { APP_EVENT_SCHEMA_VERSION, type AppEvent } from '../lambda/shared/contract/app-event';
import { createKafka, createProducer } from '../lambda/shared/kafka-client';
import { loadEnvironments } from '../lib/config/platform-config';
import { TOPIC_SPECS } from '../lib/topics/topic-specs';

const TYPES = ['page_view', 'page_view', 'page_view', 'click', 'click', 'add_to_cart', 'purchase'] as const;
const COUNTRIES = ['DE', 'FR', 'GB', 'US', 'NL', 'ES'] as const;

/** Realistic sample events: page views dominate, purchases carry properties.amountCents. */
export function sampleEvents(count: number, users: number, now = Date.now()): AppEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const type = TYPES[i % TYPES.length]!;
    return {
      eventId: randomUUID(),
      userId: `user-${(i % users) + 1}`,
      type,
      occurredAt: new Date(now - (count - i) * 1000).toISOString(),
      country: COUNTRIES[i % COUNTRIES.length]!,
      properties: type === 'purchase' ? { amountCents: 1999 + i, currency: 'EUR' } : { page: `/p/${i % 10}` },
      schemaVersion: APP_EVENT_SCHEMA_VERSION,
    };
  });
}

/** Invalid events, one per kind of mistake. */
export function invalidEvents(count: number): unknown[] {
  const kinds: unknown[] = [
    {
      eventId: 'not-a-uuid',
      userId: 'u',
      type: 'click',
      occurredAt: new Date().toISOString(),
      schemaVersion: 1,
    },
    { eventId: randomUUID(), userId: '', type: 'Click!', occurredAt: '25/11/2026', schemaVersion: 1 },
    {
      eventId: randomUUID(),
      userId: 'u',
      type: 'click',
      occurredAt: new Date().toISOString(),
      schemaVersion: 2,
    },
  ];
  return Array.from({ length: count }, (_, i) => kinds[i % kinds.length]);
}

/** events.user's max.message.bytes in an environment of cdk.json, as its function gets it. */
export function eventsTopicMaxMessageBytes(envName: string): number {
  const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const [config] = loadEnvironments({ ...cdkJson.context, env: envName });
  return config!.topics.eventsUser.settings.maxMessageBytes;
}

/**
 * Sends through the ingest logic straight to a broker whose topics are those of an environment
 * (`npm run engines:kafka -- --topics <env>`), with that environment's limits.
 */
export async function sendLocal(bootstrap: string, body: string, envName = 'dev'): Promise<IngestResponse> {
  const producer = createProducer(createKafka({ brokers: bootstrap, auth: 'none', clientId: 'send-events' }));
  await producer.connect();
  try {
    return await ingest(body, {
      producer,
      topic: TOPIC_SPECS.eventsUser.name,
      maxBatchSize: 500,
      maxMessageBytes: eventsTopicMaxMessageBytes(envName),
    });
  } finally {
    await producer.disconnect();
  }
}

export async function sendSigned(
  endpoint: string,
  region: string,
  body: string,
): Promise<{ statusCode: number; body: unknown }> {
  const url = new URL(endpoint);
  const request = new HttpRequest({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    path: url.pathname,
    headers: { host: url.hostname, 'content-type': 'application/json' },
    body,
  });
  const signer = new SignatureV4({
    service: 'execute-api',
    region,
    credentials: defaultProvider(),
    sha256: Sha256,
  });
  const signed = await signer.sign(request);
  const response = await fetch(endpoint, { method: 'POST', headers: signed.headers, body });
  return { statusCode: response.status, body: await response.json() };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const events: unknown[] = [
    ...sampleEvents(Number(option('count') ?? 10), Number(option('users') ?? 3)),
    ...invalidEvents(Number(option('invalid') ?? 0)),
  ];
  const body = JSON.stringify({ events });
  const local = option('local');
  const endpoint = option('endpoint');
  let result: unknown;
  if (local) result = await sendLocal(local, body, option('env') ?? 'dev');
  else if (endpoint)
    result = await sendSigned(endpoint, option('region') ?? process.env.AWS_REGION ?? 'eu-west-1', body);
  else throw new Error('give --local <bootstrap> or --endpoint <url>');
  console.log(JSON.stringify(result, null, 2));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
