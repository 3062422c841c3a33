/**
 * Reading synthesized CloudFormation templates for the diagram: resources with their construct
 * paths, values rendered as text (following references across stacks), and every Allow statement
 * of every identity policy with the role it applies to. Pure: it takes the templates as data.
 */

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<
    string,
    { readonly Value: unknown; readonly Export?: { readonly Name: unknown } }
  >;
}

/** The templates of one environment, by stack name (`<platform>-<env>-<kind>`). */
export type Templates = ReadonlyMap<string, CfnTemplate>;

export interface ResourceId {
  readonly stack: string;
  readonly logicalId: string;
}

/** A resource with where it sits. */
export interface LocatedResource extends ResourceId {
  readonly resource: CfnResource;
  /** The construct path without the stack's `<platform>-<env>-` prefix, e.g. `events/Enrich/Consumer/Role/Resource`. */
  readonly path: string;
}

/** A CloudFormation value that may be one item or a list, as a list. */
export const asArray = <T>(x: T | readonly T[] | undefined): T[] =>
  x === undefined ? [] : Array.isArray(x) ? [...(x as readonly T[])] : [x as T];

/** The stack's kind: `events` for `streaming-dev-events`. */
function stackKind(stack: string): string {
  return stack.slice(stack.lastIndexOf('-') + 1);
}

export function resourceAt(templates: Templates, id: ResourceId): CfnResource {
  const resource = templates.get(id.stack)?.Resources[id.logicalId];
  if (!resource) throw new Error(`diagram: no resource ${id.stack}/${id.logicalId}`);
  return resource;
}

/** The construct path of a resource, from its `aws:cdk:path` metadata, with the stack kind first. */
export function constructPath(templates: Templates, id: ResourceId): string {
  const path = resourceAt(templates, id).Metadata?.['aws:cdk:path'];
  if (typeof path !== 'string')
    throw new Error(
      `diagram: ${id.stack}/${id.logicalId} has no aws:cdk:path metadata (synthesize with aws:cdk:enable-path-metadata)`,
    );
  const prefix = `${id.stack}/`;
  return `${stackKind(id.stack)}/${path.startsWith(prefix) ? path.slice(prefix.length) : path}`;
}

/** Every resource of every stack, with its path, in a stable order (stack, then logical id). */
export function allResources(templates: Templates, type?: string): LocatedResource[] {
  const found: LocatedResource[] = [];
  for (const stack of [...templates.keys()].sort()) {
    const resources = templates.get(stack)!.Resources;
    for (const logicalId of Object.keys(resources).sort()) {
      const resource = resources[logicalId]!;
      if (type !== undefined && resource.Type !== type) continue;
      found.push({ stack, logicalId, resource, path: constructPath(templates, { stack, logicalId }) });
    }
  }
  return found;
}

function outputValue(templates: Templates, stack: string, output: string): unknown {
  const value = templates.get(stack)?.Outputs?.[output];
  if (!value) throw new Error(`diagram: a reference names a missing output ${stack}.${output}`);
  return value.Value;
}

/** The stack and value of the output exported under `name`. */
function importedValue(templates: Templates, name: unknown): { stack: string; value: unknown } | undefined {
  for (const [stack, template] of templates)
    for (const output of Object.values(template.Outputs ?? {}))
      if (output.Export && JSON.stringify(output.Export.Name) === JSON.stringify(name))
        return { stack, value: output.Value };
  return undefined;
}

/**
 * A template value as text: literals as they are, pseudo parameters as `${AWS::Region}`, an SSM
 * parameter's `Value` as the parameter's value, other references as `{<stack>/<logical id>[.attr]}`,
 * `Fn::Join` concatenated, `Fn::Base64` as its text; anything else as `{?}`. Follows
 * `Fn::GetStackOutput` and `Fn::ImportValue` into the producing stack. The markers hold no quote
 * or backslash, so JSON text with references inside its strings stays parseable JSON.
 */
export function valueText(templates: Templates, stack: string, value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (typeof value !== 'object' || value === null) return '{?}';
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string')
    return v.Ref.startsWith('AWS::') ? `\${${v.Ref}}` : `{${stackKind(stack)}:${v.Ref}}`;
  if (Array.isArray(v['Fn::GetAtt'])) {
    const [logicalId, attribute] = v['Fn::GetAtt'] as [string, string];
    const target = templates.get(stack)?.Resources[logicalId];
    if (target?.Type === 'AWS::SSM::Parameter' && attribute === 'Value')
      return valueText(templates, stack, target.Properties?.Value);
    return `{${stackKind(stack)}:${logicalId}.${attribute}}`;
  }
  const out = v['Fn::GetStackOutput'] as { StackName: string; OutputName: string } | undefined;
  if (out) return valueText(templates, out.StackName, outputValue(templates, out.StackName, out.OutputName));
  if ('Fn::ImportValue' in v) {
    const imported = importedValue(templates, v['Fn::ImportValue']);
    return imported ? valueText(templates, imported.stack, imported.value) : '{?}';
  }
  if (Array.isArray(v['Fn::Join'])) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => valueText(templates, stack, p)).join(separator);
  }
  if ('Fn::Base64' in v) return valueText(templates, stack, v['Fn::Base64']);
  return '{?}';
}

/**
 * The resources a value refers to (`Ref`, `Fn::GetAtt`, followed through `Fn::GetStackOutput` and
 * `Fn::ImportValue`), anywhere inside it, in order.
 */
export function referencedResources(templates: Templates, stack: string, value: unknown): ResourceId[] {
  if (typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((x) => referencedResources(templates, stack, x));
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string')
    return templates.get(stack)?.Resources[v.Ref] ? [{ stack, logicalId: v.Ref }] : [];
  if (Array.isArray(v['Fn::GetAtt'])) return [{ stack, logicalId: String(v['Fn::GetAtt'][0]) }];
  const out = v['Fn::GetStackOutput'] as { StackName: string; OutputName: string } | undefined;
  if (out)
    return referencedResources(
      templates,
      out.StackName,
      outputValue(templates, out.StackName, out.OutputName),
    );
  if ('Fn::ImportValue' in v) {
    const imported = importedValue(templates, v['Fn::ImportValue']);
    return imported ? referencedResources(templates, imported.stack, imported.value) : [];
  }
  return Object.values(v).flatMap((x) => referencedResources(templates, stack, x));
}

/** An Allow statement of an identity policy, with the role it applies to. */
export interface RoleStatement {
  readonly role: ResourceId;
  readonly actions: readonly string[];
  readonly resources: readonly unknown[];
  /** The stack whose template holds the statement (its references resolve there). */
  readonly stack: string;
}

interface Statement {
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly Resource?: unknown;
}

/**
 * Every Allow statement of every `AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy` (through its
 * `Roles`, and through a role's `ManagedPolicyArns` that names one in the templates) and inline
 * role policy, per role it applies to.
 */
export function roleStatements(templates: Templates): RoleStatement[] {
  const statements: RoleStatement[] = [];
  const add = (role: ResourceId, stack: string, document: unknown) => {
    for (const s of asArray((document as { Statement?: Statement | Statement[] } | undefined)?.Statement)) {
      if (s.Effect !== 'Allow') continue;
      statements.push({
        role,
        stack,
        actions: asArray(s.Action).map(String),
        resources: asArray(s.Resource as unknown[] | undefined),
      });
    }
  };
  const isRole = (id: ResourceId) =>
    templates.get(id.stack)?.Resources[id.logicalId]?.Type === 'AWS::IAM::Role';
  for (const r of allResources(templates)) {
    const p = r.resource.Properties ?? {};
    if (r.resource.Type === 'AWS::IAM::Policy' || r.resource.Type === 'AWS::IAM::ManagedPolicy') {
      for (const role of referencedResources(templates, r.stack, p.Roles).filter(isRole))
        add(role, r.stack, p.PolicyDocument);
    } else if (r.resource.Type === 'AWS::IAM::Role') {
      for (const inline of asArray(p.Policies as { PolicyDocument: unknown }[] | undefined))
        add(r, r.stack, inline.PolicyDocument);
      for (const managed of referencedResources(templates, r.stack, p.ManagedPolicyArns)) {
        const policy = resourceAt(templates, managed);
        if (policy.Type === 'AWS::IAM::ManagedPolicy')
          add(r, managed.stack, policy.Properties?.PolicyDocument);
      }
    }
  }
  return statements;
}

/** True when an IAM action pattern (`kafka-cluster:ReadData`, `kafka-cluster:*`, `*`) covers the action. */
export function covers(patterns: readonly string[], action: string): boolean {
  return patterns.some((p) =>
    new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i').test(action),
  );
}
