/**
 * The identity-policy side of the security posture, over every template of every environment (and
 * prod with the warehouse stack): no Allow statement in any identity policy (a role's policies, its
 * inline policies, managed policies) grants an action on the data services (kafka-cluster, kafka, s3,
 * dynamodb, es, kms, secretsmanager) on every resource (`*`), nor those services' actions through an
 * action wildcard (`*`, `s3:*`, `kms:Get*`). Key policies name their key as `*` by design and are
 * not identity policies, so they are not read here.
 */
import { ENVIRONMENTS } from '../support/synth';
import { environmentTemplates } from '../support/template-graph';
import { withSnowflake } from '../support/warehouse';

const DATA_SERVICES = ['kafka-cluster', 'kafka', 's3', 'dynamodb', 'es', 'kms', 'secretsmanager'];

interface Statement {
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
}

const asArray = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

/** The identity-policy documents of a template, each with where it sits. */
function identityDocuments(
  stack: string,
  resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>,
): { where: string; statements: Statement[] }[] {
  return Object.entries(resources).flatMap(([id, r]) => {
    const p = r.Properties ?? {};
    const docs =
      r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy'
        ? [p.PolicyDocument]
        : r.Type === 'AWS::IAM::Role'
          ? asArray(p.Policies as { PolicyDocument: unknown }[] | undefined).map((x) => x.PolicyDocument)
          : [];
    return docs.map((doc) => ({
      where: `${stack}/${id}`,
      statements: asArray((doc as { Statement?: Statement | Statement[] }).Statement),
    }));
  });
}

/** What is wrong with one statement, if anything. */
function problems(s: Statement): string[] {
  if (s.Effect !== 'Allow') return [];
  const found: string[] = [];
  if (s.NotAction !== undefined || s.NotResource !== undefined)
    found.push('NotAction/NotResource in an Allow');
  const actions = asArray(s.Action);
  const data = actions.filter((a) => DATA_SERVICES.includes(a.split(':')[0]!.toLowerCase()) || a === '*');
  for (const a of data.filter((x) => x.includes('*'))) found.push(`action wildcard ${a}`);
  if (data.length > 0 && asArray(s.Resource).includes('*')) found.push(`${data.join(', ')} on *`);
  return found;
}

const CASES: [string, string, Record<string, unknown>][] = [
  ...ENVIRONMENTS.map((e): [string, string, Record<string, unknown>] => [e, e, {}]),
  ['prod with a Snowflake account', 'prod', withSnowflake('prod')],
];

describe.each(CASES)('identity policies of %s', (_label, envName, overrides) => {
  const templates = environmentTemplates(envName, overrides);
  const documents = [...templates].flatMap(([stack, t]) =>
    identityDocuments(
      stack,
      t.Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>,
    ),
  );

  test('no data-service action on `*`, no action wildcard on a data service, no NotAction or NotResource', () => {
    const found = documents.flatMap(({ where, statements }) =>
      statements.flatMap((s) => problems(s).map((p) => `${where}: ${p}`)),
    );
    expect(found).toEqual([]);
  });

  test('the scan reads policies (it has something to judge)', () => {
    const dataStatements = documents
      .flatMap((d) => d.statements)
      .filter((s) => asArray(s.Action).some((a) => DATA_SERVICES.includes(a.split(':')[0]!)));
    expect(dataStatements.length).toBeGreaterThan(20);
  });
});

describe('the scan catches what it is for', () => {
  test.each([
    [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }, ['s3:GetObject on *']],
    [
      { Effect: 'Allow', Action: ['kms:*'], Resource: 'arn:aws:kms:eu-west-1:1:key/x' },
      ['action wildcard kms:*'],
    ],
    [{ Effect: 'Allow', Action: '*', Resource: '*' }, ['action wildcard *', '* on *']],
    [{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }, ['NotAction/NotResource in an Allow']],
    [{ Effect: 'Allow', Action: 'ec2:DescribeVpcs', Resource: '*' }, []],
    [{ Effect: 'Deny', Action: 's3:*', Resource: '*' }, []],
  ] as [Statement, string[]][])('%j -> %j', (statement, expected) => {
    expect(problems(statement)).toEqual(expected);
  });
});
