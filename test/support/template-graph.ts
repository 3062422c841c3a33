/**
 * Reads the synthesized templates of one environment as CloudFormation will: follows `Ref`,
 * `Fn::GetAtt` and `Fn::GetStackOutput` across the stacks to the resource they name, so that a test
 * can ask "which secret does this statement name, and which key encrypts it?" over every stack.
 */
import { App } from 'aws-cdk-lib';
import type { CloudFormationStackArtifact } from 'aws-cdk-lib/cx-api';
import { loadEnvironments } from '../../lib/config/platform-config';
import { buildEnvironment } from '../../lib/platform';
import { cdkJsonContext } from './synth';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { readonly Value: unknown }>;
}

/** A resource of one of the environment's stacks. */
export interface ResourceId {
  readonly stack: string;
  readonly logicalId: string;
}

export const idText = (id: ResourceId): string => `${id.stack}/${id.logicalId}`;

/** The templates of every stack of one environment (or of all, with env `all`), by stack name. */
export function environmentTemplates(
  envName: string,
  overrides: Record<string, unknown> = {},
): Map<string, CfnTemplate> {
  const app = new App({
    context: {
      ...cdkJsonContext(),
      env: envName,
      'aws:cdk:bundling-stacks': [],
      '@aws-cdk/core:annotationsInValidationReport': false,
      'aws:cdk:enable-path-metadata': true,
      ...overrides,
    },
    builtinCloudFormationValidation: false,
  });
  for (const config of loadEnvironments(app.node.getAllContext())) buildEnvironment(app, config);
  const assembly = app.synth();
  return new Map(
    assembly.stacks.map((s: CloudFormationStackArtifact) => [s.stackName, s.template as CfnTemplate]),
  );
}

/**
 * The resource a value refers to (`Ref`, `Fn::GetAtt`, or a `Fn::GetStackOutput` whose output is
 * one of those), or undefined for anything else (a literal, a joined ARN, a pseudo parameter).
 */
export function referencedResource(
  templates: ReadonlyMap<string, CfnTemplate>,
  stack: string,
  value: unknown,
): ResourceId | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') {
    return templates.get(stack)?.Resources[v.Ref] ? { stack, logicalId: v.Ref } : undefined;
  }
  if (Array.isArray(v['Fn::GetAtt'])) return { stack, logicalId: String(v['Fn::GetAtt'][0]) };
  const out = v['Fn::GetStackOutput'] as { StackName: string; OutputName: string } | undefined;
  if (out) {
    const producer = templates.get(out.StackName);
    const output = producer?.Outputs?.[out.OutputName];
    if (!output)
      throw new Error(
        `${stack}: Fn::GetStackOutput names a missing output ${out.StackName}.${out.OutputName}`,
      );
    return referencedResource(templates, out.StackName, output.Value);
  }
  return undefined;
}

export function resourceOf(templates: ReadonlyMap<string, CfnTemplate>, id: ResourceId): CfnResource {
  const resource = templates.get(id.stack)?.Resources[id.logicalId];
  if (!resource) throw new Error(`no resource ${idText(id)}`);
  return resource;
}

/** A statement of an identity policy, with the role it is attached to. */
export interface PrincipalStatement {
  readonly role: ResourceId;
  readonly policy: ResourceId;
  readonly effect: string;
  readonly actions: readonly string[];
  readonly resources: readonly unknown[];
  readonly condition?: unknown;
}

/** A CloudFormation value that may be one item or a list, as a list. */
export const asArray = <T>(x: T | T[] | undefined): T[] =>
  x === undefined ? [] : Array.isArray(x) ? x : [x];

/** Every statement of every `AWS::IAM::Policy` and inline role policy, per role it applies to. */
export function roleStatements(templates: ReadonlyMap<string, CfnTemplate>): PrincipalStatement[] {
  const statements: PrincipalStatement[] = [];
  const add = (role: ResourceId, policy: ResourceId, document: unknown) => {
    for (const s of asArray((document as { Statement?: unknown }).Statement)) {
      const st = s as { Effect: string; Action: unknown; Resource: unknown; Condition?: unknown };
      statements.push({
        role,
        policy,
        effect: st.Effect,
        actions: asArray(st.Action).map(String),
        resources: asArray(st.Resource),
        condition: st.Condition,
      });
    }
  };
  for (const [stack, template] of templates) {
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      const p = resource.Properties ?? {};
      if (resource.Type === 'AWS::IAM::Policy') {
        for (const r of asArray(p.Roles)) {
          const role = referencedResource(templates, stack, r);
          if (role) add(role, { stack, logicalId }, p.PolicyDocument);
        }
      } else if (resource.Type === 'AWS::IAM::Role') {
        for (const inline of asArray(p.Policies))
          add(
            { stack, logicalId },
            { stack, logicalId },
            (inline as { PolicyDocument: unknown }).PolicyDocument,
          );
      }
    }
  }
  return statements;
}

/** True when an IAM action pattern (`kms:Decrypt`, `kms:*`, `*`) covers the action. */
export function allows(patterns: readonly string[], action: string): boolean {
  return patterns.some((p) => {
    const re = new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
    return re.test(action);
  });
}

/** Every place in a template value where `key` appears as an intrinsic, with the path of its parents. */
export function findIntrinsics(value: unknown, key: string, path: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => findIntrinsics(v, key, [...path, String(i)]));
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
    k === key ? [path] : findIntrinsics(v, key, [...path, k]),
  );
}

/** A construct path without its stack's `<platform>-<env>-` prefix and the trailing `/Resource`. */
function shortPath(templates: ReadonlyMap<string, CfnTemplate>, id: ResourceId): string {
  const resource = resourceOf(templates, id) as CfnResource & { Metadata?: Record<string, string> };
  const path = resource.Metadata?.['aws:cdk:path'] ?? `${id.stack}/${id.logicalId}`;
  return path.replace(/^[a-z0-9]+-[a-z0-9]+-/, '').replace(/\/Resource$/, '');
}

/**
 * A template value as readable text, for hand-written expectations: literals as they are,
 * pseudo parameters as `${AWS::Region}`, a resource attribute as `{<stack>/<construct path>.<attr>}`
 * (followed across stacks), a `Ref` to a resource as `{<path>}`, `Fn::Join` concatenated.
 */
export function renderValue(
  templates: ReadonlyMap<string, CfnTemplate>,
  stack: string,
  value: unknown,
): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') {
    if (v.Ref.startsWith('AWS::')) return `\${${v.Ref}}`;
    return `{${shortPath(templates, { stack, logicalId: v.Ref })}}`;
  }
  if (Array.isArray(v['Fn::GetAtt'])) {
    const [logicalId, attribute] = v['Fn::GetAtt'] as [string, string];
    return `{${shortPath(templates, { stack, logicalId })}.${attribute}}`;
  }
  const out = v['Fn::GetStackOutput'] as { StackName: string; OutputName: string } | undefined;
  if (out) {
    const output = templates.get(out.StackName)?.Outputs?.[out.OutputName];
    if (!output) throw new Error(`missing output ${out.StackName}.${out.OutputName}`);
    return renderValue(templates, out.StackName, output.Value);
  }
  if (Array.isArray(v['Fn::Join'])) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => renderValue(templates, stack, p)).join(separator);
  }
  return JSON.stringify(value);
}

/**
 * Every role's permissions as `action -> sorted resources` (a statement with a condition marks its
 * resources `(if <condition keys>)`), keyed by the role's construct path without the stack prefix.
 */
export function rolePermissions(
  templates: ReadonlyMap<string, CfnTemplate>,
  actionFilter: (action: string) => boolean = () => true,
): Record<string, Record<string, string[]>> {
  const result: Record<string, Record<string, string[]>> = {};
  for (const st of roleStatements(templates)) {
    const role = shortPath(templates, st.role);
    const condition = st.condition
      ? ` (if ${Object.entries(st.condition as Record<string, Record<string, unknown>>)
          .flatMap(([op, kv]) =>
            Object.entries(kv).map(([k, val]) => `${op} ${k} ${renderValue(templates, st.role.stack, val)}`),
          )
          .join(', ')})`
      : '';
    for (const action of st.actions.filter(actionFilter)) {
      const entry = ((result[role] ??= {})[`${st.effect === 'Deny' ? 'DENY ' : ''}${action}`] ??= []);
      for (const r of st.resources) entry.push(`${renderValue(templates, st.role.stack, r)}${condition}`);
      entry.sort();
    }
  }
  return result;
}
