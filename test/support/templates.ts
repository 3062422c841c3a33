import type { Template } from 'aws-cdk-lib/assertions';
import { decodeTopicConfigs } from '../../lib/topics/topic-settings';

/** A topic as an `AWS::MSK::Topic` resource of a synthesized template carries it. */
export interface TemplateTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** The decoded `Configs` (base64 JSON) of the resource. */
  readonly configs: Record<string, string>;
}

/** Reads every `AWS::MSK::Topic` of a template, decoding its Configs exactly as MSK would. */
export function templateTopics(template: Template): TemplateTopic[] {
  type Resource = {
    Properties: { TopicName: string; PartitionCount: number; ReplicationFactor: number; Configs: string };
  };
  return Object.values(template.findResources('AWS::MSK::Topic') as Record<string, Resource>).map(
    ({ Properties: p }) => ({
      name: p.TopicName,
      partitions: p.PartitionCount,
      replicationFactor: p.ReplicationFactor,
      configs: decodeTopicConfigs(p.Configs),
    }),
  );
}
