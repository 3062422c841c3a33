/**
 * The consumer group of each event source mapping, named from the topic catalog: one group per
 * consumer and source topic (Lambda wants a group per mapping). The CDK mappings and the local
 * event-source poller use the same names. No CDK imports, so local tools can use it too.
 */
import { topicName, type TopicId } from '../topics/topic-specs';

/** `<consumer>-<topic>`, e.g. the enrich function's group on the app-events topic. */
export function consumerGroupId(consumer: string, source: TopicId): string {
  return `${consumer}-${topicName(source)}`;
}
