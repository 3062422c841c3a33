/** The README's data-flow diagram, generated from the synthesized app (see tools/diagram.ts). */
import { diagramModel } from './model';
import { diagramBlock, renderMermaid } from './mermaid';
import { DIAGRAM_ENVIRONMENT } from './synth';
import type { Templates } from './templates';

export { diagramModel, flowSentences, type DiagramModel, type Flow } from './model';
export { currentDiagramBlock, diagramBlock, renderMermaid, replaceDiagramBlock } from './mermaid';
export { DIAGRAM_ENVIRONMENT, diagramTemplates } from './synth';

/** The README block (markers included) for the given templates of the diagram's environment. */
export function readmeDiagramBlock(templates: Templates): string {
  return diagramBlock(renderMermaid(diagramModel(templates)), DIAGRAM_ENVIRONMENT);
}
