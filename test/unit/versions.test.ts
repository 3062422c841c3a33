import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineVersion } from 'aws-cdk-lib/aws-opensearchservice';
import {
  KAFKA_VERSION_LINE,
  LOCAL_KAFKA_VERSION,
  LOCAL_OPENSEARCH_VERSION,
  MSK_KAFKA_VERSION,
  OPENSEARCH_ENGINE_VERSION,
} from '../../lib/config/versions';

/** The local engines run the version lines of the deployed services. */
test('the local Kafka broker is the pinned release of the MSK version line', () => {
  const pom = readFileSync(join(__dirname, '..', 'engines', 'kafka', 'pom.xml'), 'utf8');
  expect(/<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1]).toBe(LOCAL_KAFKA_VERSION);
  expect(LOCAL_KAFKA_VERSION.startsWith(`${KAFKA_VERSION_LINE}.`)).toBe(true);
  expect(MSK_KAFKA_VERSION.startsWith(`${KAFKA_VERSION_LINE}.x`)).toBe(true);
});

test('the local OpenSearch node is the pinned release of the domain engine line', () => {
  const pom = readFileSync(join(__dirname, '..', 'engines', 'opensearch', 'pom.xml'), 'utf8');
  expect(/<opensearch\.version>([^<]+)<\/opensearch\.version>/.exec(pom)?.[1]).toBe(LOCAL_OPENSEARCH_VERSION);
  expect(OPENSEARCH_ENGINE_VERSION).toBe(EngineVersion.OPENSEARCH_3_5.version);
  expect(
    LOCAL_OPENSEARCH_VERSION.startsWith(`${OPENSEARCH_ENGINE_VERSION.replace('OpenSearch_', '')}.`),
  ).toBe(true);
});
