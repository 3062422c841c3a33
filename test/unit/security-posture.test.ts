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
 * Encryption at rest with a customer-managed key that rotates yearly, read per data-store type from
 * every template: the network stack's stores with the network's own key (it is deployed before the
 * streaming stack that owns the platform key), every other store with the platform key. The
 * exceptions are listed by hand with the documented reason; a new store, or a new unencrypted one,
 * fails here.
 */
const PLATFORM_KEY = '{streaming/PlatformKey/Key}';
const NETWORK_KEY = '{network/Network/Key/Key}';
/** The key each stack's stores must use. */
const KEY_OF_STACK = (stack: string) => (stack.endsWith('-network') ? NETWORK_KEY : PLATFORM_KEY);
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
/**
 * The stores without a customer-managed key, by construct path, and why. S3 server access logging
 * supports only SSE-S3 as its target bucket's default encryption: "Default server-side encryption
 * with AWS Key Management Service (AWS KMS) keys (SSE-KMS) is not supported"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html). Such a
 * bucket holds only S3's request records of the bucket it logs, never that bucket's objects.
 */
const SSE_S3_ONLY = 'S3 server access log target bucket: SSE-S3 is the only supported default encryption';
const WITHOUT_CUSTOMER_MANAGED_KEY: Record<string, string> = {
  'sources/IotBridge/AccessLogs': SSE_S3_ONLY,
  'telemetry/Lake/AccessLogs': SSE_S3_ONLY,
};

describe.each(CASES)('encryption at rest in %s', (_label, envName, overrides) => {
  const templates = environmentTemplates(envName, overrides);
  const resourcesOf = (type: string) =>
    [...templates].flatMap(([stack, t]) =>
      Object.entries(t.Resources as Resources)
        .filter(([, r]) => r.Type === type)
        .map(([id, r]) => ({
          path: renderValue(templates, stack, { Ref: id }).replace(/^\{|\}$/g, ''),
          stack,
          p: r.Properties ?? {},
        })),
    );
  /** The key a store names, by its ARN or its id, as `{<stack>/<construct path>}`. */
  const keyName = (stack: string, key: unknown) =>
    renderValue(templates, stack, key).replace(/\.Arn\}$/, '}');
  const stores = Object.keys(KEY_OF).flatMap((type) =>
    resourcesOf(type).map((r) => ({ ...r, type, key: KEY_OF[type]!(r.p) })),
  );

  test('the scan reads stores of every type it knows', () => {
    expect([...new Set(stores.map((s) => s.type))].sort()).toEqual(Object.keys(KEY_OF).sort());
  });

  test("every data store uses its stack's customer-managed key, except the stores listed by hand", () => {
    const wrong = stores
      .filter((s) => s.key === undefined || keyName(s.stack, s.key) !== KEY_OF_STACK(s.stack))
      .map((s) => s.path)
      .sort();
    expect(wrong).toEqual(Object.keys(WITHOUT_CUSTOMER_MANAGED_KEY).sort());
  });

  test('the exceptions are SSE-S3 server access log buckets, each the log target of a bucket that uses the platform key', () => {
    const buckets = resourcesOf('AWS::S3::Bucket');
    const exceptions = buckets.filter((b) => b.path in WITHOUT_CUSTOMER_MANAGED_KEY);
    expect(exceptions.map((b) => b.path).sort()).toEqual(Object.keys(WITHOUT_CUSTOMER_MANAGED_KEY).sort());
    for (const b of exceptions)
      expect([b.path, b.p.BucketEncryption]).toEqual([
        b.path,
        {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
      ]);
    // Which bucket logs into which: the logged buckets themselves are SSE-KMS with the platform key.
    const logged = buckets
      .filter((b) => b.p.LoggingConfiguration !== undefined)
      .map((b) => [
        b.path,
        renderValue(
          templates,
          b.stack,
          (b.p.LoggingConfiguration as { DestinationBucketName: unknown }).DestinationBucketName,
        ),
        keyName(b.stack, KEY_OF['AWS::S3::Bucket']!(b.p)),
      ])
      .sort();
    expect(logged).toEqual([
      ['sources/IotBridge/Bucket', '{sources/IotBridge/AccessLogs}', PLATFORM_KEY],
      ['telemetry/Lake/Bucket', '{telemetry/Lake/AccessLogs}', PLATFORM_KEY],
    ]);
  });

  test('two keys, each rotating yearly: the platform key and the network key', () => {
    const keys = resourcesOf('AWS::KMS::Key').map((k) => [k.path, k.p.EnableKeyRotation]);
    expect(keys.sort()).toEqual([
      ['network/Network/Key/Key', true],
      ['streaming/PlatformKey/Key', true],
    ]);
  });
});
