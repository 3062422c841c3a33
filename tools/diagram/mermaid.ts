/**
 * The data-flow model as a mermaid `flowchart LR`, and the README block that holds it. Pure and
 * deterministic: the model's lists are sorted, and so is everything rendered from them.
 */
import type { DiagramModel, DiagramNode, Flow, TopicNode } from './model';

export const BEGIN_MARKER = '<!-- diagram:begin -->';
export const END_MARKER = '<!-- diagram:end -->';

/** A mermaid node id: letters, digits and underscores only, prefixed by the node's kind. */
const nodeId = (kind: string, id: string): string => `${kind}_${id.replace(/[^A-Za-z0-9]/g, '_')}`;

/** A label in double quotes (mermaid has no escape for `"` inside; the registry labels hold none). */
function quoted(label: string): string {
  if (label.includes('"')) throw new Error(`diagram: a label may not contain a double quote: ${label}`);
  return `"${label}"`;
}

const topicLabel = (t: TopicNode): string => `${t.name}${t.compacted ? '<br/>compacted' : ''}`;

/** The mermaid text of the model (no code fence). */
export function renderMermaid(model: DiagramModel): string {
  const ids = new Map<string, string>();
  const lines: string[] = ['flowchart LR'];
  const group = (id: string, title: string, nodes: string[]) => {
    if (nodes.length === 0) return;
    lines.push(`  subgraph ${id}[${quoted(title)}]`, ...nodes.map((n) => `    ${n}`), '  end');
  };
  const declare = (kind: string, node: DiagramNode, shape: (label: string) => string): string => {
    const id = nodeId(kind, node.id);
    ids.set(node.id, id);
    return `${id}${shape(quoted(node.label))}`;
  };
  const conditional = new Map<string, string[]>();
  const place = (node: DiagramNode, text: string, into: string[]) => {
    if (node.onlyWith) conditional.set(node.onlyWith, [...(conditional.get(node.onlyWith) ?? []), text]);
    else into.push(text);
  };

  const inputs = model.inputs.map((n) => declare('in', n, (l) => `([${l}])`));
  const sources: string[] = [];
  for (const n of model.sources)
    place(
      n,
      declare('c', n, (l) => `[${l}]`),
      sources,
    );
  const topics = model.topics.map((t) => {
    const id = nodeId('t', t.name);
    ids.set(t.name, id);
    return `${id}[${quoted(topicLabel(t))}]`;
  });
  const processors: string[] = [];
  for (const n of model.processors)
    place(
      n,
      declare('c', n, (l) => `[${l}]`),
      processors,
    );
  const sinks: string[] = [];
  for (const n of model.sinks)
    place(
      n,
      declare('s', n, (l) => `[(${l})]`),
      sinks,
    );

  group('outside', 'Outside', inputs);
  group('sources', 'Sources', sources);
  group('msk', `Amazon MSK ${model.kafkaVersion}: topics`, topics);
  group('consumers', 'Consumers', processors);
  group('stores', 'Sinks', sinks);
  [...conditional.keys()]
    .sort()
    .forEach((condition, i) => group(`only${i + 1}`, condition, conditional.get(condition)!));

  for (const flow of model.flows) lines.push(`  ${edge(flow, ids)}`);
  return lines.join('\n');
}

function edge(flow: Flow, ids: ReadonlyMap<string, string>): string {
  const id = (end: string) => {
    const found = ids.get(end);
    if (!found) throw new Error(`diagram: a flow names ${end}, which is no node of the model`);
    return found;
  };
  const from = id(flow.from);
  const to = id(flow.to);
  switch (flow.relation) {
    case 'feeds':
      return `${from} -->|${quoted(flow.label ?? '')}| ${to}`;
    case 'dead-letters to':
      return `${from} -.-> ${to}`;
    case 'reads and writes':
      return `${from} <-.-> ${to}`;
    case 'writes':
    case 'reads':
    case 'delivers to':
      return `${from} --> ${to}`;
  }
}

/** The README block between the markers: the fenced diagram and a line on where it comes from. */
export function diagramBlock(mermaid: string, environment: string): string {
  return [
    BEGIN_MARKER,
    '',
    '```mermaid',
    mermaid,
    '```',
    '',
    `Generated from the synthesized \`${environment}\` app (given a Snowflake account) by \`npm run diagram\`; ` +
      '`test/unit/diagram.test.ts` fails when it drifts from the code. Dotted: dead letters, and the offsets a ' +
      'connector reads and writes.',
    '',
    END_MARKER,
  ].join('\n');
}

/** The README with its diagram block (markers included) replaced by `block`. */
export function replaceDiagramBlock(readme: string, block: string): string {
  const begin = readme.indexOf(BEGIN_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (
    begin < 0 ||
    end < begin ||
    readme.indexOf(BEGIN_MARKER, begin + 1) >= 0 ||
    readme.indexOf(END_MARKER, end + 1) >= 0
  )
    throw new Error(`README.md needs exactly one ${BEGIN_MARKER} … ${END_MARKER} block, in that order`);
  return `${readme.slice(0, begin)}${block}${readme.slice(end + END_MARKER.length)}`;
}

/** The block between the markers, markers included (undefined when the README has none). */
export function currentDiagramBlock(readme: string): string | undefined {
  const begin = readme.indexOf(BEGIN_MARKER);
  const end = readme.indexOf(END_MARKER);
  return begin < 0 || end < begin ? undefined : readme.slice(begin, end + END_MARKER.length);
}
