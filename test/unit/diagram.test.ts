/**
 * The README's data-flow diagram (tools/diagram.ts): the block in README.md is what the generator
 * makes of the synthesized app now; the model it is drawn from equals a hand-written list of who
 * writes and reads which topic and which sinks (so a wrong generator cannot pass by agreeing with
 * itself); and generation fails, naming the construct, on a reader, writer or sink it does not know.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  currentDiagramBlock,
  diagramModel,
  diagramTemplates,
  flowSentences,
  readmeDiagramBlock,
} from '../../tools/diagram/index';
import type { CfnResource, CfnTemplate, Templates } from '../../tools/diagram/templates';

// Synthesized once for the file (dev with the tests' Snowflake account, path metadata on).
const templates = diagramTemplates();
const model = diagramModel(templates);

/** The lines only in `a` and only in `b`, for a readable failure. */
function lineDiff(a: string, b: string): string {
  const as = a.split('\n');
  const bs = b.split('\n');
  return [
    ...as.filter((l) => !bs.includes(l)).map((l) => `- ${l}`),
    ...bs.filter((l) => !as.includes(l)).map((l) => `+ ${l}`),
  ].join('\n');
}

test('the README diagram is the one generated from the code now', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const current = currentDiagramBlock(readme);
  const generated = readmeDiagramBlock(templates);
  if (current !== generated)
    throw new Error(
      current === undefined
        ? 'README.md has no <!-- diagram:begin --> … <!-- diagram:end --> block: add the markers and run `npm run diagram`'
        : `README.md's diagram differs from the code: run \`npm run diagram\` (- README, + generated):\n${lineDiff(current, generated)}`,
    );
});

describe('the model of dev with a Snowflake account', () => {
  test('who writes and reads which topic, which sinks, and where each is declared', () => {
    expect(flowSentences(model)).toEqual(
      [
        'app-clients feeds ingest (POST /events, IAM auth) [API Gateway]',
        'ingest writes events.user [IAM]',
        'postgres feeds cdc (public.orders (pgoutput)) [connector config]',
        'cdc writes cdc.orders [IAM, connector config]',
        'cdc writes cdc.heartbeat.orders [IAM, connector config]',
        'cdc reads and writes cdc.connect-offsets [IAM, worker config]',
        'iot-devices feeds iot-bridge (MQTT devices/+/telemetry) [topic rule]',
        'iot-bridge writes telemetry.raw [SCRAM ACL, topic rule]',
        'iot-bridge delivers to raw-capture [IAM]',
        'enrich reads events.user [IAM, event source mapping]',
        'enrich reads cdc.orders [IAM, event source mapping]',
        'enrich writes events.enriched [IAM]',
        'enrich dead-letters to dlq.enrich [IAM, on-failure destination]',
        'aggregate reads events.enriched [IAM, event source mapping]',
        'aggregate writes events.aggregates [IAM]',
        'aggregate delivers to opensearch [IAM]',
        'aggregate dead-letters to dlq.aggregate [IAM, on-failure destination]',
        'sessionize reads telemetry.raw [IAM]',
        'sessionize writes telemetry.alerts [IAM]',
        'sessionize delivers to lake [IAM]',
        'sessionize dead-letters to dlq.sessionize [IAM]',
        'alerting reads telemetry.alerts [IAM, event source mapping]',
        'alerting delivers to alert-topic [IAM]',
        'alerting dead-letters to dlq.alerting [IAM, on-failure destination]',
        'snowflake-sink reads events.aggregates [IAM, connector config]',
        'snowflake-sink delivers to snowflake [connector config]',
        'snowflake-sink dead-letters to dlq.snowflake-sink [IAM, connector config]',
      ].sort(),
    );
  });

  test('the nodes: the Kafka version, inputs, sources, consumers, topics, sinks, and the warehouse leg only with an account', () => {
    const ids = (nodes: readonly { id: string; onlyWith?: string }[]) =>
      nodes.map((n) => (n.onlyWith ? `${n.id} (${n.onlyWith})` : n.id));
    const warehouse = 'only when the environment configures a Snowflake account';
    expect({
      kafkaVersion: model.kafkaVersion,
      inputs: ids(model.inputs),
      sources: ids(model.sources),
      processors: ids(model.processors),
      sinks: ids(model.sinks),
      topics: model.topics.map((t) => `${t.name}${t.compacted ? ' (compacted)' : ''}`),
    }).toEqual({
      kafkaVersion: '3.9.x.kraft',
      inputs: ['app-clients', 'iot-devices', 'postgres'],
      sources: ['cdc', 'ingest', 'iot-bridge'],
      processors: ['aggregate', 'alerting', 'enrich', 'sessionize', `snowflake-sink (${warehouse})`],
      sinks: ['alert-topic', 'lake', 'opensearch', 'raw-capture', `snowflake (${warehouse})`],
      topics: [
        'cdc.connect-offsets (compacted)',
        'cdc.heartbeat.orders',
        'cdc.orders (compacted)',
        'dlq.aggregate',
        'dlq.alerting',
        'dlq.enrich',
        'dlq.sessionize',
        'dlq.snowflake-sink',
        'events.aggregates (compacted)',
        'events.enriched',
        'events.user',
        'telemetry.alerts',
        'telemetry.raw',
      ],
    });
  });
});

describe('generation fails on what the registry does not know', () => {
  const EVENTS = 'streaming-dev-events';
  const topicArn = (name: string) => `arn:aws:kafka:eu-west-1:123456789012:topic/streaming-dev/abc-1/${name}`;
  const at = (path: string) => ({ 'aws:cdk:path': `${EVENTS}/${path}` });

  /** The templates with extra resources in the events stack (the synthesized ones stay untouched). */
  function withExtra(resources: Record<string, CfnResource>): Templates {
    const copy = new Map<string, CfnTemplate>([...templates].map(([name, t]) => [name, structuredClone(t)]));
    Object.assign(copy.get(EVENTS)!.Resources, resources);
    return copy;
  }

  /** A role at `path` with one policy statement. */
  const roleWith = (path: string, statement: Record<string, unknown>): Record<string, CfnResource> => ({
    ExtraRole: { Type: 'AWS::IAM::Role', Properties: {}, Metadata: at(`${path}/Resource`) },
    ExtraPolicy: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        Roles: [{ Ref: 'ExtraRole' }],
        PolicyDocument: { Statement: [{ Effect: 'Allow', ...statement }] },
      },
      Metadata: at(`${path}/DefaultPolicy/Resource`),
    },
  });

  test('a role of an unknown construct that reads a topic', () => {
    const extra = roleWith('Audit/Role', {
      Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
      Resource: topicArn('events.enriched'),
    });
    expect(() => diagramModel(withExtra(extra))).toThrow(
      'diagram: role events/Audit/Role/Resource (granted kafka-cluster:ReadData on events.enriched) belongs to no known component: name it in COMPONENTS of tools/diagram/registry.ts',
    );
  });

  test('an event source mapping of an unknown function', () => {
    const extra: Record<string, CfnResource> = {
      ExtraFunction: {
        Type: 'AWS::Lambda::Function',
        Properties: {},
        Metadata: at('Replay/Function/Resource'),
      },
      ExtraMapping: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: { FunctionName: { Ref: 'ExtraFunction' }, Topics: ['dlq.enrich'] },
        Metadata: at('Replay/Function/Mapping/Resource'),
      },
    };
    expect(() => diagramModel(withExtra(extra))).toThrow(
      'diagram: event source mapping events/Replay/Function/Mapping/Resource (reading dlq.enrich) belongs to no known component',
    );
  });

  test('a known component granted a topic outside the catalog', () => {
    const extra = roleWith('Enrich/Extra', {
      Action: 'kafka-cluster:WriteData',
      Resource: topicArn('events.user.v2'),
    });
    expect(() => diagramModel(withExtra(extra))).toThrow(
      'diagram: role events/Enrich/Extra/Resource names topic "events.user.v2", which is not in the catalog (lib/topics/topic-specs.ts)',
    );
  });

  test('a known component writing to a table that is not its own state (a new sink of another kind)', () => {
    const extra = {
      ...roleWith('Aggregate/Export', {
        Action: ['dynamodb:PutItem', 'dynamodb:GetItem'],
        Resource: { 'Fn::GetAtt': ['ExtraTable', 'Arn'] },
      }),
      ExtraTable: { Type: 'AWS::DynamoDB::Table', Properties: {}, Metadata: at('Export/Table/Resource') },
    };
    expect(() => diagramModel(withExtra(extra))).toThrow(
      'diagram: role events/Aggregate/Export/Resource writes to events/Export/Table/Resource (AWS::DynamoDB::Table), which is neither a state of aggregate nor a sink: name it in STATE_OF or SINKS of tools/diagram/registry.ts',
    );
  });

  test('a known component writing to a data store that is no known sink', () => {
    const extra = {
      ...roleWith('Aggregate/Archive', {
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['ExtraBucket', 'Arn'] }, '/*']] },
      }),
      ExtraBucket: { Type: 'AWS::S3::Bucket', Properties: {}, Metadata: at('Archive/Bucket/Resource') },
    };
    expect(() => diagramModel(withExtra(extra))).toThrow(
      'diagram: role events/Aggregate/Archive/Resource writes to events/Archive/Bucket/Resource, which is no known sink: name it in SINKS of tools/diagram/registry.ts',
    );
  });
});
