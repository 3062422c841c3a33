/**
 * The data-flow model of one synthesized environment, read from its templates as they grant and
 * configure things, not from a hand list:
 *
 * - topic reads and writes: `kafka-cluster:ReadData` / `WriteData` on topic ARNs in the identity
 *   policies of each role; the `Topics` and the Kafka on-failure destination of each event source
 *   mapping; the SCRAM ACLs of the `Custom::KafkaAcls` resources; the Kafka action of each IoT
 *   topic rule; connector configurations (`topics`, `errors.deadletterqueue.topic.name`, Debezium's
 *   `topic.prefix` + `table.include.list` through its RegexRouter transforms and its heartbeat
 *   topic) and their worker configuration's `offset.storage.topic`;
 * - sinks: `s3:PutObject` on a bucket, `es:ESHttpPost`/`Put`/`Patch` on a domain and `sns:Publish`
 *   on a topic in the templates, and sink connectors by class;
 * - inputs from outside: API Gateway methods integrated with a function, the MQTT topic filter of
 *   each topic rule, the database of a Debezium connector.
 *
 * Every topic name is mapped back to the catalog (lib/topics/topic-specs.ts); a name outside it
 * fails, and so does anything above under a construct path registry.ts does not know.
 */
import { parseAcls } from '../../lib/kafka/acl-model';
import { TOPIC_SPECS, topicIdByName, type TopicId, type TopicSpec } from '../../lib/topics/topic-specs';
import {
  COMPONENTS,
  CONNECTOR_CLASSES,
  INPUTS,
  MSK_CONNECT_INTERNAL_TOPIC_PREFIX,
  PLUMBING,
  SINKS,
  STATE_OF,
  under,
  type ComponentSpec,
  type SinkSpec,
} from './registry';
import {
  allResources,
  asArray,
  constructPath,
  covers,
  referencedResources,
  resourceAt,
  roleStatements,
  valueText,
  type LocatedResource,
  type ResourceId,
  type Templates,
} from './templates';

/** How a flow connects its two ends. */
export type Relation = 'feeds' | 'writes' | 'reads' | 'dead-letters to' | 'reads and writes' | 'delivers to';

/** An edge; its ends are node ids: an input, component or sink id, or a topic's Kafka name. */
export interface Flow {
  readonly from: string;
  readonly to: string;
  readonly relation: Relation;
  /** What crosses the edge, for inputs (`POST /events, IAM auth`). */
  readonly label?: string;
  /** Where in the templates the flow is declared (sorted): `IAM`, `event source mapping`, … */
  readonly evidence: readonly string[];
}

export interface DiagramNode {
  readonly id: string;
  readonly label: string;
  /** Set when the node exists only under a condition (the warehouse leg). */
  readonly onlyWith?: string;
}

export interface TopicNode {
  readonly id: TopicId;
  readonly name: string;
  readonly compacted: boolean;
  readonly deadLetter: boolean;
}

export interface DiagramModel {
  /** The MSK cluster's Kafka version (`3.9.x.kraft`). */
  readonly kafkaVersion: string;
  readonly inputs: readonly DiagramNode[];
  /** Components that read no topic (they bring data in). */
  readonly sources: readonly DiagramNode[];
  /** Components that read topics. */
  readonly processors: readonly DiagramNode[];
  readonly topics: readonly TopicNode[];
  readonly sinks: readonly DiagramNode[];
  /** Sorted by from, to. */
  readonly flows: readonly Flow[];
}

const TOPIC_ACTIONS = { read: 'kafka-cluster:ReadData', write: 'kafka-cluster:WriteData' } as const;
const SINK_ACTIONS = {
  bucket: ['s3:PutObject'],
  domain: ['es:ESHttpPost', 'es:ESHttpPut', 'es:ESHttpPatch'],
  snsTopic: ['sns:Publish'],
} as const;

/**
 * Writes to stores that are no sink of the diagram: a component's own state (its tables, its
 * capture stream) is left out, a write into any other store fails generation, so a new sink of one
 * of these kinds cannot be missed silently.
 */
const STATE_WRITES: readonly (readonly [string, readonly string[]])[] = [
  ['AWS::DynamoDB::Table', ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem']],
  ['AWS::SQS::Queue', ['sqs:SendMessage']],
  ['AWS::Kinesis::Stream', ['kinesis:PutRecord', 'kinesis:PutRecords']],
  ['AWS::KinesisFirehose::DeliveryStream', ['firehose:PutRecord', 'firehose:PutRecordBatch']],
];

const REGISTRY_FILE = 'tools/diagram/registry.ts';

/** Collects flows, merging evidence of the same flow. */
class FlowSet {
  private readonly flows = new Map<
    string,
    { from: string; to: string; label?: string; evidence: Set<string> }
  >();

  add(from: string, to: string, evidence: string, label?: string): void {
    const key = `${from}\u0000${to}\u0000${label ?? ''}`;
    const flow = this.flows.get(key) ?? {
      from,
      to,
      ...(label !== undefined ? { label } : {}),
      evidence: new Set(),
    };
    flow.evidence.add(evidence);
    this.flows.set(key, flow);
  }

  all(): { from: string; to: string; label?: string; evidence: Set<string> }[] {
    return [...this.flows.values()];
  }
}

/** The catalog topic of a Kafka topic name, or a failure naming who declared it. */
function catalogTopic(name: string, declaredBy: string): TopicId {
  const id = topicIdByName(name);
  if (!id)
    throw new Error(
      `diagram: ${declaredBy} names topic "${name}", which is not in the catalog (lib/topics/topic-specs.ts)`,
    );
  return id;
}

/** The component a construct path belongs to; undefined for plumbing; a failure otherwise. */
function componentAt(path: string, what: string): ComponentSpec | undefined {
  const component = COMPONENTS.find((c) => under(path, c.path));
  if (component) return component;
  if (PLUMBING.some((p) => under(path, p.path))) return undefined;
  throw new Error(
    `diagram: ${what} belongs to no known component: name it in COMPONENTS of ${REGISTRY_FILE} (or in PLUMBING, with the reason it carries no data)`,
  );
}

function sinkAt(path: string, what: string): SinkSpec {
  const sink = SINKS.find((s) => under(path, s.path));
  if (!sink)
    throw new Error(
      `diagram: ${what} writes to ${path}, which is no known sink: name it in SINKS of ${REGISTRY_FILE}`,
    );
  return sink;
}

/** The topic name of a topic ARN (`arn:…:topic/<cluster>/<uuid>/<name>`), or undefined for other ARNs. */
function topicOfArn(arn: string): string | undefined {
  return /:topic\/[^/]+\/[^/]+\/([^/]+)$/.exec(arn)?.[1];
}

/** A Java properties text as a record (the worker configuration). */
function parseProperties(text: string): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('!')) continue;
    const at = trimmed.search(/[=:]/);
    if (at > 0) properties[trimmed.slice(0, at).trim()] = trimmed.slice(at + 1).trim();
  }
  return properties;
}

/** The topics a Debezium connector writes its change records to: `<prefix>.<schema>.<table>`, routed. */
function debeziumTopics(config: Readonly<Record<string, string>>): string[] {
  const prefix = config['topic.prefix'];
  const tables = (config['table.include.list'] ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (!prefix || tables.length === 0)
    throw new Error(
      'diagram: a Debezium connector without topic.prefix and table.include.list: its topics cannot be read',
    );
  const routers = (config.transforms ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => config[`transforms.${t}.type`] === 'org.apache.kafka.connect.transforms.RegexRouter')
    .map((t) => ({
      regex: new RegExp(`^(?:${config[`transforms.${t}.regex`] ?? ''})$`),
      // Java's `$1` group references mean the same in a JavaScript replacement.
      replacement: config[`transforms.${t}.replacement`] ?? '',
    }));
  const topics = tables.map((table) =>
    routers.reduce(
      (topic, r) => (r.regex.test(topic) ? topic.replace(r.regex, r.replacement) : topic),
      `${prefix}.${table}`,
    ),
  );
  if (Number(config['heartbeat.interval.ms'] ?? '0') > 0)
    topics.push(`${config['topic.heartbeat.prefix'] ?? '__debezium-heartbeat'}.${prefix}`);
  return topics;
}

interface Connector {
  readonly config: Record<string, string>;
  /** References of the connector definition (its worker configuration among them). */
  readonly references: readonly ResourceId[];
}

/** The connector configuration of an MSK Connect connector (the native type or the platform's custom resource). */
function connectorOf(templates: Templates, r: LocatedResource): Connector | undefined {
  const p = r.resource.Properties ?? {};
  if (r.resource.Type === 'AWS::KafkaConnect::Connector') {
    const config = Object.fromEntries(
      Object.entries((p.ConnectorConfiguration ?? {}) as Record<string, unknown>).map(([k, v]) => [
        k,
        valueText(templates, r.stack, v),
      ]),
    );
    return { config, references: referencedResources(templates, r.stack, p.WorkerConfiguration) };
  }
  if (r.resource.Type === 'Custom::MskConnectConnector') {
    const definition = JSON.parse(valueText(templates, r.stack, p.Connector)) as {
      connectorConfiguration?: Record<string, string>;
    };
    return {
      config: definition.connectorConfiguration ?? {},
      references: referencedResources(templates, r.stack, p.Connector),
    };
  }
  return undefined;
}

/** The data-flow model of the given templates (one environment). */
export function diagramModel(templates: Templates): DiagramModel {
  const reads = new FlowSet(); // topic -> component
  const writes = new FlowSet(); // component -> topic
  const others = new FlowSet(); // inputs -> component, component -> sink
  const components = new Map<string, ComponentSpec>();
  const sinks = new Map<string, SinkSpec>();
  const inputs = new Map<string, { id: string; label: string }>();

  const component = (path: string, what: string): string | undefined => {
    const c = componentAt(path, what);
    if (c) components.set(c.id, c);
    return c?.id;
  };
  const read = (componentId: string | undefined, topic: string, evidence: string, by: string) => {
    catalogTopic(topic, by);
    if (componentId) reads.add(topic, componentId, evidence);
  };
  const write = (componentId: string | undefined, topic: string, evidence: string, by: string) => {
    catalogTopic(topic, by);
    if (componentId) writes.add(componentId, topic, evidence);
  };
  const deliver = (componentId: string | undefined, sink: SinkSpec, evidence: string) => {
    if (!componentId) return;
    sinks.set(sink.id, sink);
    others.add(componentId, sink.id, evidence);
  };
  const feed = (
    input: { id: string; label: string },
    componentId: string | undefined,
    label: string,
    evidence: string,
  ) => {
    if (!componentId) return;
    inputs.set(input.id, input);
    others.add(input.id, componentId, evidence, label);
  };

  // Identity policies: topic data actions on topic ARNs, writes to data stores.
  for (const st of roleStatements(templates)) {
    const rolePath = constructPath(templates, st.role);
    const who = `role ${rolePath}`;
    for (const [direction, action] of Object.entries(TOPIC_ACTIONS)) {
      if (!covers(st.actions, action)) continue;
      for (const resource of st.resources) {
        const arn = valueText(templates, st.stack, resource);
        const topic = topicOfArn(arn);
        if (topic === undefined || topic.startsWith(MSK_CONNECT_INTERNAL_TOPIC_PREFIX)) continue;
        const c = component(rolePath, `${who} (granted ${action} on ${topic})`);
        (direction === 'read' ? read : write)(c, topic, 'IAM', who);
      }
    }
    const stores: [keyof typeof SINK_ACTIONS, string][] = [
      ['bucket', 'AWS::S3::Bucket'],
      ['domain', 'AWS::OpenSearchService::Domain'],
      ['snsTopic', 'AWS::SNS::Topic'],
    ];
    for (const [type, stateActions] of STATE_WRITES) {
      const actions = stateActions.filter((a) => covers(st.actions, a));
      if (actions.length === 0) continue;
      const owner = componentAt(rolePath, `${who} (granted ${actions.join(', ')})`);
      if (!owner) continue;
      for (const resource of st.resources) {
        for (const id of referencedResources(templates, st.stack, resource)) {
          if (resourceAt(templates, id).Type !== type) continue;
          const store = constructPath(templates, id);
          const state = STATE_OF.find((s) => under(store, s.path));
          if (under(store, owner.path) || state?.owner === owner.id) continue;
          throw new Error(
            `diagram: ${who} writes to ${store} (${type}), which is neither a state of ${owner.id} nor a sink: name it in STATE_OF or SINKS of ${REGISTRY_FILE}`,
          );
        }
      }
    }
    for (const [store, type] of stores) {
      const actions = SINK_ACTIONS[store].filter((a) => covers(st.actions, a));
      if (actions.length === 0) continue;
      for (const resource of st.resources) {
        const target = storeOf(templates, st.stack, resource, type);
        const c = component(rolePath, `${who} (granted ${actions.join(', ')} on ${target})`);
        if (c) deliver(c, sinkAt(target, who), 'IAM');
      }
    }
  }

  // Event source mappings: the topics a function polls, the Kafka on-failure destination.
  for (const r of allResources(templates, 'AWS::Lambda::EventSourceMapping')) {
    const p = r.resource.Properties ?? {};
    const topics = asArray(p.Topics as unknown[] | undefined).map((t) => valueText(templates, r.stack, t));
    if (topics.length === 0) continue;
    const fn = referencedResources(templates, r.stack, p.FunctionName)[0];
    const fnPath = fn ? constructPath(templates, fn) : r.path;
    const who = `event source mapping ${r.path}`;
    const c = component(fnPath, `${who} (reading ${topics.join(', ')})`);
    for (const topic of topics) read(c, topic, 'event source mapping', who);
    const destination = valueText(
      templates,
      r.stack,
      (p.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure?.Destination,
    );
    if (destination.startsWith('kafka://'))
      write(c, destination.slice('kafka://'.length), 'on-failure destination', who);
  }

  // SCRAM ACLs.
  for (const r of allResources(templates, 'Custom::KafkaAcls')) {
    const who = `Kafka ACLs ${r.path}`;
    for (const acl of parseAcls(valueText(templates, r.stack, r.resource.Properties?.Acls))) {
      if (acl.resourceType !== 'TOPIC' || acl.permission !== 'ALLOW') continue;
      if (acl.operation !== 'READ' && acl.operation !== 'WRITE') continue;
      if (acl.patternType !== 'LITERAL')
        throw new Error(`diagram: ${who} allows ${acl.operation} on the topic prefix "${acl.resourceName}"`);
      const c = component(r.path, `${who} (allowing ${acl.operation} on ${acl.resourceName})`);
      (acl.operation === 'READ' ? read : write)(c, acl.resourceName, 'SCRAM ACL', who);
    }
  }

  // IoT topic rules: the MQTT filter they select from, their Kafka actions.
  for (const r of allResources(templates, 'AWS::IoT::TopicRule')) {
    const payload = (r.resource.Properties?.TopicRulePayload ?? {}) as { Sql?: unknown; Actions?: unknown[] };
    const who = `topic rule ${r.path}`;
    const kafkaTopics = asArray(payload.Actions)
      .map((a) => (a as { Kafka?: { Topic?: unknown } }).Kafka?.Topic)
      .filter((t) => t !== undefined)
      .map((t) => valueText(templates, r.stack, t));
    const c = component(r.path, `${who}${kafkaTopics.length ? ` (writing ${kafkaTopics.join(', ')})` : ''}`);
    for (const topic of kafkaTopics) write(c, topic, 'topic rule', who);
    const filter = /\bFROM\s+'([^']+)'/i.exec(valueText(templates, r.stack, payload.Sql))?.[1];
    if (filter) feed(INPUTS.mqtt, c, `MQTT ${filter}`, 'topic rule');
  }

  // API Gateway methods integrated with a function.
  for (const r of allResources(templates, 'AWS::ApiGateway::Method')) {
    const p = r.resource.Properties ?? {};
    const target = referencedResources(
      templates,
      r.stack,
      (p.Integration as { Uri?: unknown } | undefined)?.Uri,
    ).find((id) => resourceAt(templates, id).Type === 'AWS::Lambda::Function');
    if (!target) continue;
    const c = component(
      constructPath(templates, target),
      `function ${constructPath(templates, target)} behind API method ${r.path}`,
    );
    const auth = valueText(templates, r.stack, p.AuthorizationType);
    const label = `${valueText(templates, r.stack, p.HttpMethod)} ${apiPath(templates, r.stack, p.ResourceId)}, ${auth === 'AWS_IAM' ? 'IAM auth' : `auth ${auth}`}`;
    feed(INPUTS.http, c, label, 'API Gateway');
  }

  // MSK Connect connectors.
  for (const r of allResources(templates)) {
    const connector = connectorOf(templates, r);
    if (!connector) continue;
    const { config } = connector;
    const who = `connector ${r.path}`;
    const connectorClass = config['connector.class'] ?? '';
    const kind = CONNECTOR_CLASSES[connectorClass];
    if (!kind)
      throw new Error(
        `diagram: ${who} runs ${connectorClass || 'no connector.class'}, which ${REGISTRY_FILE} does not know (CONNECTOR_CLASSES)`,
      );
    const c = component(r.path, who);
    if (kind.kind === 'postgres-source') {
      for (const topic of debeziumTopics(config)) write(c, topic, 'connector config', who);
      feed(
        INPUTS.postgres,
        c,
        `${config['table.include.list']} (${config['plugin.name'] ?? 'decoderbufs'})`,
        'connector config',
      );
    } else {
      if (config['topics.regex'] !== undefined)
        throw new Error(
          `diagram: ${who} reads topics.regex ${config['topics.regex']}: name its topics instead`,
        );
      for (const topic of (config.topics ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== ''))
        read(c, topic, 'connector config', who);
      deliver(c, kind.sink, 'connector config');
    }
    const dlq = config['errors.deadletterqueue.topic.name'];
    if (dlq) write(c, dlq, 'connector config', who);
    for (const ref of connector.references) {
      const worker = resourceAt(templates, ref);
      if (worker.Type !== 'AWS::KafkaConnect::WorkerConfiguration') continue;
      const properties = parseProperties(
        valueText(templates, ref.stack, worker.Properties?.PropertiesFileContent),
      );
      const offsets = properties['offset.storage.topic'];
      if (offsets && !offsets.startsWith(MSK_CONNECT_INTERNAL_TOPIC_PREFIX)) {
        read(c, offsets, 'worker config', `worker configuration of ${who}`);
        write(c, offsets, 'worker config', `worker configuration of ${who}`);
      }
    }
  }

  return assemble(templates, components, sinks, inputs, reads, writes, others);
}

/** The data store a policy resource names, as its construct path, if it is one of `type` in the templates. */
function storeOf(templates: Templates, stack: string, resource: unknown, type: string): string {
  const referenced = referencedResources(templates, stack, resource).find(
    (id) => resourceAt(templates, id).Type === type,
  );
  if (referenced) return constructPath(templates, referenced);
  const text = valueText(templates, stack, resource);
  if (type === 'AWS::OpenSearchService::Domain') {
    const name = /:domain\/([^/]+)/.exec(text)?.[1];
    const domain = allResources(templates, type).find(
      (d) => valueText(templates, d.stack, d.resource.Properties?.DomainName) === name,
    );
    if (domain) return domain.path;
  }
  return `outside the templates: ${text}`;
}

/** `/events` for the method's resource (its path parts up to the API's root). */
function apiPath(templates: Templates, stack: string, resourceId: unknown): string {
  const parts: string[] = [];
  let ref = referencedResources(templates, stack, resourceId)[0];
  while (ref && resourceAt(templates, ref).Type === 'AWS::ApiGateway::Resource') {
    const p = resourceAt(templates, ref).Properties ?? {};
    parts.unshift(valueText(templates, ref.stack, p.PathPart));
    ref = referencedResources(templates, ref.stack, p.ParentId)[0];
  }
  return `/${parts.join('/')}`;
}

function assemble(
  templates: Templates,
  components: ReadonlyMap<string, ComponentSpec>,
  sinks: ReadonlyMap<string, SinkSpec>,
  inputs: ReadonlyMap<string, { id: string; label: string }>,
  reads: FlowSet,
  writes: FlowSet,
  others: FlowSet,
): DiagramModel {
  const specOf = (name: string): TopicSpec => TOPIC_SPECS[topicIdByName(name)!];
  const flows: Flow[] = [];
  const readFlows = reads.all();
  const writeFlows = writes.all();
  for (const w of writeFlows) {
    const r = readFlows.find((x) => x.from === w.to && x.to === w.from);
    const topic = w.to;
    const relation: Relation = r
      ? 'reads and writes'
      : specOf(topic).deadLetterFor !== undefined
        ? 'dead-letters to'
        : 'writes';
    flows.push({
      from: w.from,
      to: w.to,
      relation,
      evidence: [...new Set([...w.evidence, ...(r?.evidence ?? [])])].sort(),
    });
  }
  for (const r of readFlows)
    if (!writeFlows.some((w) => w.from === r.to && w.to === r.from))
      flows.push({ from: r.from, to: r.to, relation: 'reads', evidence: [...r.evidence].sort() });
  for (const o of others.all()) {
    const relation: Relation = components.has(o.to) ? 'feeds' : 'delivers to';
    flows.push({
      from: o.from,
      to: o.to,
      relation,
      ...(o.label !== undefined ? { label: o.label } : {}),
      evidence: [...o.evidence].sort(),
    });
  }
  flows.sort(
    (a, b) => compare(a.from, b.from) || compare(a.to, b.to) || compare(a.label ?? '', b.label ?? ''),
  );

  const readsTopic = new Set(flows.filter((f) => f.relation === 'reads').map((f) => f.to));
  const componentNodes = [...components.values()]
    .map((c): DiagramNode => ({ id: c.id, label: c.label, ...(c.onlyWith ? { onlyWith: c.onlyWith } : {}) }))
    .sort((a, b) => compare(a.id, b.id));
  // A sink reached only from components under a condition exists only under that condition.
  const sinkNodes = [...sinks.values()]
    .map((s): DiagramNode => {
      const conditions = new Set(
        flows.filter((f) => f.to === s.id).map((f) => components.get(f.from)?.onlyWith ?? ''),
      );
      const only = conditions.size === 1 ? [...conditions][0] : '';
      return { id: s.id, label: s.label, ...(only ? { onlyWith: only } : {}) };
    })
    .sort((a, b) => compare(a.id, b.id));

  const clusters = allResources(templates, 'AWS::MSK::Cluster');
  if (clusters.length !== 1)
    throw new Error(`diagram: expected one AWS::MSK::Cluster in the templates, found ${clusters.length}`);
  return {
    kafkaVersion: valueText(templates, clusters[0]!.stack, clusters[0]!.resource.Properties?.KafkaVersion),
    inputs: [...inputs.values()]
      .map((i) => ({ id: i.id, label: i.label }))
      .sort((a, b) => compare(a.id, b.id)),
    sources: componentNodes.filter((c) => !readsTopic.has(c.id)),
    processors: componentNodes.filter((c) => readsTopic.has(c.id)),
    topics: catalogTopics(templates),
    sinks: sinkNodes,
    flows,
  };
}

/** The topics the templates create (`AWS::MSK::Topic`), each mapped to the catalog, sorted by name. */
function catalogTopics(templates: Templates): TopicNode[] {
  return allResources(templates, 'AWS::MSK::Topic')
    .map((r): TopicNode => {
      const p = r.resource.Properties ?? {};
      const name = valueText(templates, r.stack, p.TopicName);
      const id = catalogTopic(name, `topic resource ${r.path}`);
      const configs =
        typeof p.Configs === 'string' ? Buffer.from(p.Configs, 'base64').toString('utf8') : '{}';
      const cleanup =
        (JSON.parse(configs) as Record<string, string | undefined>)['cleanup.policy'] ?? 'delete';
      const spec: TopicSpec = TOPIC_SPECS[id];
      return {
        id,
        name,
        compacted: cleanup.includes('compact'),
        deadLetter: spec.deadLetterFor !== undefined,
      };
    })
    .sort((a, b) => compare(a.name, b.name));
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The flows as sorted sentences: `enrich reads events.user [IAM, event source mapping]`. */
export function flowSentences(model: DiagramModel): string[] {
  return model.flows
    .map((f) => {
      const [subject, object] = f.relation === 'reads' ? [f.to, f.from] : [f.from, f.to];
      return `${subject} ${f.relation} ${object}${f.label ? ` (${f.label})` : ''} [${f.evidence.join(', ')}]`;
    })
    .sort(compare);
}
