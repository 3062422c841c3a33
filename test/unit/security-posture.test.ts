/**
 * The identity-policy side of the security posture, over every template of every environment (and
 * prod with the warehouse stack): no Allow statement in any identity policy (a role's policies, its
 * inline policies, managed policies) grants an action on the data services (kafka-cluster, kafka, s3,
 * dynamodb, es, kms, secretsmanager) on every resource (`*`), nor those services' actions through an
 * action wildcard (`*`, `s3:*`, `kms:Get*`). Key policies name their key as `*` by design and are
 * not identity policies, so they are not read here.
 */
import { ENVIRONMENTS } from '../support/synth';
import { asArray, environmentTemplates, renderValue } from '../support/template-graph';
import { withSnowflake } from '../support/warehouse';

const DATA_SERVICES = ['kafka-cluster', 'kafka', 's3', 'dynamodb', 'es', 'kms', 'secretsmanager'];

interface Statement {
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
}

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

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** Every object of a value (depth first), JSON text inside `Fn::Join` parsed with references as "<ref>". */
function objectsIn(value: unknown): Record<string, unknown>[] {
  if (Array.isArray(value)) return value.flatMap(objectsIn);
  if (value === null || typeof value !== 'object') return [];
  const v = value as Record<string, unknown>;
  const join = v['Fn::Join'] as [string, unknown[]] | undefined;
  if (join && join[1].some((p) => typeof p === 'string' && p.includes('"Statement"'))) {
    const text = join[1].map((p) => (typeof p === 'string' ? p : '<ref>')).join(join[0]);
    return objectsIn(JSON.parse(text));
  }
  return [v, ...Object.values(v).flatMap(objectsIn)];
}

describe.each(CASES)('internet exposure of %s', (_label, envName, overrides) => {
  const templates = environmentTemplates(envName, overrides);
  const all = [...templates].flatMap(([stack, t]) =>
    Object.entries(t.Resources as Resources).map(([id, r]) => ({ stack, id, ...r, p: r.Properties ?? {} })),
  );

  test('no security group admits any address range (IPv4, IPv6 or prefix list), inline or as a rule', () => {
    const ranges = all
      .flatMap((r) => [
        ...(r.Type === 'AWS::EC2::SecurityGroupIngress' ? [r.p] : []),
        ...(r.Type === 'AWS::EC2::SecurityGroup'
          ? asArray(r.p.SecurityGroupIngress as Record<string, unknown>[] | undefined)
          : []),
      ])
      .filter((rule) => ['CidrIp', 'CidrIpv6', 'SourcePrefixListId'].some((k) => rule[k] !== undefined));
    expect(ranges).toEqual([]);
  });

  test('the only way in from outside is the ingest API: POST /events with IAM (SigV4) authorization', () => {
    const methods = all
      .filter((r) => r.Type === 'AWS::ApiGateway::Method')
      .map((r) => `${r.stack} ${String(r.p.HttpMethod)} ${String(r.p.AuthorizationType)}`);
    expect(methods).toEqual([`streaming-${envName}-sources POST AWS_IAM`]);
    expect(all.filter((r) => r.Type === 'AWS::Lambda::Url')).toEqual([]);
    // Who may invoke a function from outside its own account's roles: API Gateway only.
    expect(all.filter((r) => r.Type === 'AWS::Lambda::Permission').map((r) => r.p.Principal)).toEqual([
      'apigateway.amazonaws.com',
      'apigateway.amazonaws.com',
    ]);
  });

  test('every bucket blocks public access entirely', () => {
    const buckets = all.filter((r) => r.Type === 'AWS::S3::Bucket');
    expect(buckets.length).toBeGreaterThan(0);
    for (const b of buckets)
      expect([b.id, b.p.PublicAccessBlockConfiguration]).toEqual([
        b.id,
        {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      ]);
  });

  test('no resource policy allows everyone: each Allow names a service or an account principal', () => {
    const open = all.flatMap((r) =>
      objectsIn(r.p)
        .filter((o) => o.Effect === 'Allow' && o.Principal !== undefined)
        .filter((o) => {
          const principal = o.Principal as string | Record<string, unknown>;
          return (
            principal === '*' ||
            (typeof principal === 'object' && asArray(principal.AWS as string).includes('*'))
          );
        })
        .map((o) => `${r.stack}/${r.id}: ${JSON.stringify(o)}`),
    );
    expect(open).toEqual([]);
  });

  test('the brokers and the search domain are private', () => {
    const cluster = all.find((r) => r.Type === 'AWS::MSK::Cluster')!;
    expect((cluster.p.BrokerNodeGroupInfo as { ConnectivityInfo: unknown }).ConnectivityInfo).toEqual({
      PublicAccess: { Type: 'DISABLED' },
    });
    const domain = all.find((r) => r.Type === 'AWS::OpenSearchService::Domain')!;
    expect(Object.keys(domain.p.VPCOptions as object).sort()).toEqual(['SecurityGroupIds', 'SubnetIds']);
    const db = all.filter((r) => r.Type === 'AWS::RDS::DBInstance').map((r) => r.p.PubliclyAccessible);
    expect(db).toEqual([false]);
  });
});

describe('the resource-policy scan reads what it must', () => {
  test('statements inline and inside Fn::Join JSON text', () => {
    const open = { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sns:Publish' };
    expect(objectsIn({ PolicyDocument: { Statement: [open] } })).toContainEqual(open);
    const joined = {
      'Fn::Join': [
        '',
        ['{"Statement":[{"Effect":"Allow","Principal":"*","Resource":"', { Ref: 'X' }, '"}]}'],
      ],
    };
    expect(objectsIn({ PolicyDocument: joined })).toContainEqual({
      Effect: 'Allow',
      Principal: '*',
      Resource: '<ref>',
    });
  });

  test('prod: every principal any policy (trust, key, resource) allows is one of these, written by hand', () => {
    const templates = environmentTemplates('prod', withSnowflake('prod'));
    const principals = [...templates.values()].flatMap((t) =>
      Object.values(t.Resources as Resources).flatMap((r) =>
        objectsIn(r.Properties ?? {})
          .filter((o) => o.Effect === 'Allow' && o.Principal !== undefined)
          .map((o) => JSON.stringify(o.Principal)),
      ),
    );
    const service = (name: string) => JSON.stringify({ Service: name });
    expect([...new Set(principals)].sort()).toEqual(
      [
        // The search domain's access policy: the two roles that talk to it.
        JSON.stringify({ AWS: { 'Fn::GetAtt': ['AggregateConsumerRole97081DB3', 'Arn'] } }),
        JSON.stringify({ AWS: { 'Fn::GetAtt': ['SearchSetupRoleB73D1200', 'Arn'] } }),
        // The platform key's policy delegates to the account's IAM.
        JSON.stringify({
          AWS: {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root'],
            ],
          },
        }),
        // Role trust policies and service resource policies.
        service('cloudwatch.amazonaws.com'),
        service('es.amazonaws.com'),
        service('firehose.amazonaws.com'),
        service('iot.amazonaws.com'),
        service('kafka.amazonaws.com'),
        service('kafkaconnect.amazonaws.com'),
        service('kinesisanalytics.amazonaws.com'),
        service('lambda.amazonaws.com'),
        service('logging.s3.amazonaws.com'),
        service('states.amazonaws.com'),
        service('vpc-flow-logs.amazonaws.com'),
        JSON.stringify({
          Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
        }),
      ].sort(),
    );
  });
});

/**
 * Encryption at rest with the platform's customer-managed key (yearly rotation), read per data-store
 * type from every template. The exceptions are listed by hand with their reason; a new store, or a
 * new unencrypted one, fails here.
 */
const PLATFORM_KEY = /^\{streaming\/PlatformKey\/Key(\.Arn)?\}$/;
/** Where each type names its key (undefined: no customer-managed key). */
const KEY_OF: Record<string, (p: Record<string, any>) => unknown> = {
  'AWS::MSK::Cluster': (p) => p.EncryptionInfo?.EncryptionAtRest?.DataVolumeKMSKeyId,
  'AWS::DynamoDB::Table': (p) =>
    p.SSESpecification?.SSEEnabled ? p.SSESpecification.KMSMasterKeyId : undefined,
  'AWS::OpenSearchService::Domain': (p) =>
    p.EncryptionAtRestOptions?.Enabled ? p.EncryptionAtRestOptions.KmsKeyId : undefined,
  'AWS::RDS::DBInstance': (p) => (p.StorageEncrypted ? p.KmsKeyId : undefined),
  'AWS::SecretsManager::Secret': (p) => p.KmsKeyId,
  'AWS::SNS::Topic': (p) => p.KmsMasterKeyId,
  'AWS::Logs::LogGroup': (p) => p.KmsKeyId,
  'AWS::S3::Bucket': (p) => {
    const rule = p.BucketEncryption?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault;
    return rule?.SSEAlgorithm === 'aws:kms' ? rule.KMSMasterKeyID : undefined;
  },
  'AWS::KinesisFirehose::DeliveryStream': (p) =>
    p.DeliveryStreamEncryptionConfigurationInput?.KeyType === 'CUSTOMER_MANAGED_CMK'
      ? p.DeliveryStreamEncryptionConfigurationInput.KeyARN
      : undefined,
};
/** The stores without the platform key, by construct path, and why. */
const WITHOUT_PLATFORM_KEY: Record<string, string> = {
  // The network stack is deployed before the stack that owns the key.
  'network/Network/FlowLogs': 'flow logs (network stack, before the key exists)',
  'network/Network/GatewayPrefixLists/LookupLogs': 'prefix-list lookup logs (network stack)',
  // Known gaps, to close: the server access log buckets (SSE-S3; SSE-KMS with the platform key
  // works once its key policy lets logging.s3.amazonaws.com use it), the MQTT bridge's error
  // documents and raw capture (SSE-S3) and the capture stream's buffer (AWS-owned key); the IoT
  // rule and Firehose roles then need the key.
  'sources/IotBridge/AccessLogs': 'GAP: server access log bucket, SSE-S3',
  'telemetry/Lake/AccessLogs': 'GAP: server access log bucket, SSE-S3',
  'sources/IotBridge/Bucket': 'GAP: bridge error documents and raw capture, SSE-S3',
  'sources/IotBridge/RawCapture': 'GAP: raw capture stream, AWS-owned key',
};

describe.each(CASES)('encryption at rest in %s', (_label, envName, overrides) => {
  const templates = environmentTemplates(envName, overrides);
  const stores = [...templates].flatMap(([stack, t]) =>
    Object.entries(t.Resources as Resources)
      .filter(([, r]) => r.Type in KEY_OF)
      .map(([id, r]) => ({
        path: renderValue(templates, stack, { Ref: id }).replace(/^\{|\}$/g, ''),
        key: KEY_OF[r.Type]!(r.Properties ?? {}),
        stack,
      })),
  );

  test('every data store uses the platform key, except the stores listed by hand', () => {
    const without = stores
      .filter((s) => s.key === undefined || !PLATFORM_KEY.test(renderValue(templates, s.stack, s.key)))
      .map((s) => s.path)
      .sort();
    expect(without).toEqual(Object.keys(WITHOUT_PLATFORM_KEY).sort());
  });

  test('the platform key rotates yearly', () => {
    const keys = [...templates.values()].flatMap((t) =>
      Object.values(t.Resources as Resources).filter((r) => r.Type === 'AWS::KMS::Key'),
    );
    expect(keys.map((k) => k.Properties?.EnableKeyRotation)).toEqual([true]);
  });
});
