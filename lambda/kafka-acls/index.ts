/**
 * CloudFormation custom resource (through the CDK provider framework): keeps the declared Kafka ACLs
 * of SCRAM principals on the MSK cluster. Create/Update apply the list (and remove what an update
 * dropped); Delete removes them. It connects with IAM as the function's role (AlterCluster).
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { createHash } from 'node:crypto';
import { parseAcls, type KafkaAcl } from '../../lib/kafka/acl-model';
import { createKafka, kafkaAuthFrom } from '../shared/kafka-client';
import { logger } from '../shared/powertools';
import { syncAcls } from './acls';

export async function handler(
  event: CloudFormationCustomResourceEvent,
): Promise<{ PhysicalResourceId: string }> {
  const desired: KafkaAcl[] = parseAcls(event.ResourceProperties.Acls);
  const previous: KafkaAcl[] =
    event.RequestType === 'Update' ? parseAcls(event.OldResourceProperties.Acls) : [];
  const physicalId =
    event.RequestType === 'Create'
      ? `kafka-acls-${createHash('sha256')
          .update(event.LogicalResourceId + event.StackId)
          .digest('hex')
          .slice(0, 16)}`
      : event.PhysicalResourceId;
  const brokers = process.env.BOOTSTRAP_BROKERS;
  if (!brokers) throw new Error('BOOTSTRAP_BROKERS is not set');
  const admin = createKafka({
    brokers,
    auth: kafkaAuthFrom(process.env.KAFKA_AUTH),
    region: process.env.AWS_REGION,
    clientId: 'kafka-acls',
  }).admin();
  await admin.connect();
  try {
    const change =
      event.RequestType === 'Delete'
        ? await syncAcls(admin, [], desired)
        : await syncAcls(admin, desired, previous);
    logger.info('kafka acls', { requestType: event.RequestType, physicalId, ...change });
  } finally {
    await admin.disconnect();
  }
  return { PhysicalResourceId: physicalId };
}
