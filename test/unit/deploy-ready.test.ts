/**
 * What would fail on the first `cdk deploy` although the templates synthesize: read across every
 * stack of an environment, as CloudFormation and IAM will evaluate it.
 */
import {
  allows,
  environmentTemplates,
  findIntrinsics,
  idText,
  referencedResource,
  resourceOf,
  roleStatements,
  type CfnTemplate,
  type ResourceId,
} from '../support/template-graph';
import { ENVIRONMENTS } from '../support/synth';
import { TEST_SNOWFLAKE_SECRET_ARN, withSnowflake } from '../support/warehouse';

/** The secret a statement resource names: a secret, or the attachment that stands for it. */
function secretNamed(
  templates: ReadonlyMap<string, CfnTemplate>,
  stack: string,
  value: unknown,
): ResourceId | undefined {
  const id = referencedResource(templates, stack, value);
  if (!id) return undefined;
  const resource = resourceOf(templates, id);
  if (resource.Type === 'AWS::SecretsManager::SecretTargetAttachment')
    return secretNamed(templates, id.stack, resource.Properties?.SecretId);
  return resource.Type === 'AWS::SecretsManager::Secret' ? id : undefined;
}

/** Secrets Manager decrypts for the caller: the only way a principal may use the key for a secret. */
const VIA_SECRETS_MANAGER = {
  StringEquals: {
    'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
  },
};

/**
 * Every environment as committed, and one with the warehouse stack (a test Snowflake account). The
 * last element lists the secrets the configuration names by ARN (made outside the app, so no secret
 * resource stands for them); test/unit/warehouse.test.ts checks their reads and decrypts by hand.
 */
const CASES: [string, string, Record<string, unknown>, readonly string[]][] = [
  ...ENVIRONMENTS.map((envName): [string, string, Record<string, unknown>, readonly string[]] => [
    envName,
    envName,
    {},
    [],
  ]),
  ['prod with a Snowflake account', 'prod', withSnowflake('prod'), [TEST_SNOWFLAKE_SECRET_ARN]],
];

describe.each(CASES)('deploy-ready templates of %s', (_label, envName, overrides, externalSecrets) => {
  const templates = environmentTemplates(envName, overrides);
  const statements = roleStatements(templates);
  const same = (a: ResourceId | undefined, b: ResourceId) =>
    a !== undefined && a.stack === b.stack && a.logicalId === b.logicalId;

  test('every principal allowed to read a CMK-encrypted secret may decrypt it with that key, via Secrets Manager only', () => {
    const problems: string[] = [];
    const checked: string[] = [];
    for (const st of statements) {
      if (st.effect !== 'Allow' || !allows(st.actions, 'secretsmanager:GetSecretValue')) continue;
      for (const resource of st.resources) {
        if (typeof resource === 'string' && externalSecrets.includes(resource)) continue;
        const secret = secretNamed(templates, st.role.stack, resource);
        if (!secret) {
          problems.push(
            `${idText(st.role)} may read secrets not traceable to a secret resource: ${JSON.stringify(resource)}`,
          );
          continue;
        }
        const key = referencedResource(
          templates,
          secret.stack,
          resourceOf(templates, secret).Properties?.KmsKeyId,
        );
        if (!key) continue; // the AWS-managed key: nothing to grant
        checked.push(`${idText(st.role)} -> ${idText(secret)}`);
        const decrypts = statements.filter(
          (d) =>
            same(d.role, st.role) &&
            d.effect === 'Allow' &&
            allows(d.actions, 'kms:Decrypt') &&
            d.resources.some((r) => same(referencedResource(templates, d.role.stack, r), key)),
        );
        if (decrypts.length === 0)
          problems.push(`${idText(st.role)} reads ${idText(secret)} but may not kms:Decrypt ${idText(key)}`);
        for (const d of decrypts)
          if (JSON.stringify(d.condition) !== JSON.stringify(VIA_SECRETS_MANAGER))
            problems.push(
              `${idText(st.role)} may decrypt ${idText(key)} beyond Secrets Manager: ${JSON.stringify(d.condition)}`,
            );
      }
    }
    expect(problems).toEqual([]);
    // The IoT rule role (SCRAM secret, get_secret) and the MSK Connect role (database secret) at least.
    expect(checked.length).toBeGreaterThanOrEqual(2);
  });

  test('a cross-stack reference is used whole or joined, never inside Fn::Split, Fn::Select, Fn::Sub or another intrinsic', () => {
    const misplaced: string[] = [];
    for (const [stack, template] of templates) {
      for (const path of findIntrinsics(template, 'Fn::GetStackOutput')) {
        const intrinsics = path.filter((p) => p.startsWith('Fn::'));
        const joinedElement = path.length >= 3 && path.at(-3) === 'Fn::Join' && path.at(-2) === '1';
        const allowed = intrinsics.length === 0 || (intrinsics.length === 1 && joinedElement);
        if (!allowed) misplaced.push(`${stack}: ${path.join('/')}`);
      }
    }
    expect(misplaced).toEqual([]);
  });
});
