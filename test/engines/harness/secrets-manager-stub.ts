import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the one AWS Secrets Manager call the platform's config provider makes:
 * `GetSecretValue` over the AWS JSON 1.1 protocol (`POST /`, `X-Amz-Target:
 * secretsmanager.GetSecretValue`, body `{"SecretId": …}`), on 127.0.0.1. Like the service, it
 * checks the request's SigV4 signature against the credentials it was given and answers
 * `UnrecognizedClientException` / `InvalidSignatureException` when they do not match, and
 * `ResourceNotFoundException` for an unknown secret. Every request is recorded (never the values
 * it answered with), so a test can check who asked for which secret.
 */

export interface StubCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** One request the stub received. */
export interface SecretsManagerRequest {
  /** `X-Amz-Target`, e.g. `secretsmanager.GetSecretValue`. */
  readonly target: string | undefined;
  readonly secretId: string | undefined;
  /** From the Authorization header's credential scope. */
  readonly accessKeyId: string | undefined;
  readonly region: string | undefined;
  readonly service: string | undefined;
  /** Whether the SigV4 signature matches the stub's credentials. */
  readonly signatureValid: boolean;
  /** The HTTP status the stub answered with. */
  readonly status: number;
  /** The error type answered (`ResourceNotFoundException`, …), if any. */
  readonly error?: string;
}

interface StoredSecret {
  readonly arn: string;
  readonly name: string;
  readonly secretString: string;
  readonly versionId: string;
  readonly createdDate: number;
}

const ACCOUNT = '123456789012';
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export class SecretsManagerStub {
  /** Every request so far, in arrival order. */
  public readonly requests: SecretsManagerRequest[] = [];
  private readonly secrets = new Map<string, StoredSecret>();
  private readonly server: Server;
  private port = 0;

  private constructor(
    public readonly region: string,
    private readonly credentials: StubCredentials,
  ) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => this.handle(req, Buffer.concat(chunks), res));
    });
  }

  /**
   * Starts the stub on a free loopback port. Only requests signed with `credentials` for `region`
   * and the `secretsmanager` service are answered with a secret.
   */
  static async start(options: { region: string; credentials: StubCredentials }): Promise<SecretsManagerStub> {
    const stub = new SecretsManagerStub(options.region, options.credentials);
    await new Promise<void>((resolve, reject) => {
      stub.server.once('error', reject);
      stub.server.listen(0, '127.0.0.1', () => resolve());
    });
    stub.port = (stub.server.address() as AddressInfo).port;
    return stub;
  }

  /** The endpoint URL (`http://127.0.0.1:<port>`), the provider's `endpoint` parameter. */
  public get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Creates or replaces a secret whose SecretString is `value` (an object is stored as its JSON). */
  public putSecret(name: string, value: Readonly<Record<string, unknown>> | string): void {
    const suffix = randomBytes(3).toString('hex');
    this.secrets.set(name, {
      arn: `arn:aws:secretsmanager:${this.region}:${ACCOUNT}:secret:${name}-${suffix}`,
      name,
      secretString: typeof value === 'string' ? value : JSON.stringify(value),
      versionId: randomUUID(),
      createdDate: Math.floor(Date.now() / 1000),
    });
  }

  /** The GetSecretValue requests for a secret (by name or ARN). */
  public getSecretValueCalls(secretId: string): SecretsManagerRequest[] {
    return this.requests.filter(
      (r) => r.target === 'secretsmanager.GetSecretValue' && r.secretId === secretId,
    );
  }

  public async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // The SDK keeps connections alive; end them so close() returns at once.
    this.server.closeAllConnections();
    await closed;
  }

  private handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(',') : value;
    };
    const target = header('x-amz-target');
    let secretId: string | undefined;
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { SecretId?: unknown };
      if (typeof parsed.SecretId === 'string') secretId = parsed.SecretId;
    } catch {
      secretId = undefined;
    }
    const auth = AUTHORIZATION.exec(header('authorization') ?? '');
    const [, accessKeyId, date, region, service, signedHeaders, signature] = auth ?? [];
    const signatureValid =
      auth !== null &&
      this.signatureMatches(req, body, header, date!, region!, service!, signedHeaders!, signature!);

    const answer = (status: number, payload: unknown, error?: string) => {
      this.requests.push({ target, secretId, accessKeyId, region, service, signatureValid, status, error });
      const text = JSON.stringify(payload);
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'content-length': Buffer.byteLength(text),
        'x-amzn-requestid': randomUUID(),
        ...(error ? { 'x-amzn-errortype': error } : {}),
      });
      res.end(text);
    };
    const fail = (status: number, error: string, message: string) =>
      answer(status, { __type: error, Message: message }, error);

    if (req.method !== 'POST' || req.url !== '/')
      return fail(404, 'UnknownOperationException', 'POST / only');
    if (!auth) return fail(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    if (accessKeyId !== this.credentials.accessKeyId)
      return fail(
        400,
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      );
    if (service !== 'secretsmanager' || region !== this.region || !signatureValid)
      return fail(
        400,
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided.',
      );
    if (target !== 'secretsmanager.GetSecretValue')
      return fail(400, 'UnknownOperationException', `unsupported operation ${target}`);
    if (secretId === undefined) return fail(400, 'SerializationException', 'SecretId is required');
    const secret = this.secrets.get(secretId) ?? [...this.secrets.values()].find((s) => s.arn === secretId);
    if (!secret)
      return fail(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    answer(200, {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: secret.versionId,
      SecretString: secret.secretString,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: secret.createdDate,
    });
  }

  /** Recomputes the SigV4 signature of the request (AWS Signature Version 4, header form). */
  private signatureMatches(
    req: IncomingMessage,
    body: Buffer,
    header: (name: string) => string | undefined,
    date: string,
    region: string,
    service: string,
    signedHeaders: string,
    signature: string,
  ): boolean {
    const amzDate = header('x-amz-date');
    if (!amzDate?.startsWith(date)) return false;
    const names = signedHeaders.split(';');
    if (!names.includes('host')) return false;
    const [path, query = ''] = (req.url ?? '/').split('?');
    const canonicalQuery = query
      .split('&')
      .filter((p) => p.length > 0)
      .sort()
      .join('&');
    const canonicalHeaders = names
      .map((name) => `${name}:${(header(name) ?? '').trim().replace(/\s+/g, ' ')}\n`)
      .join('');
    const payloadHash = sha256Hex(body);
    const claimed = header('x-amz-content-sha256');
    if (claimed !== undefined && claimed !== payloadHash && claimed !== 'UNSIGNED-PAYLOAD') return false;
    const canonicalRequest = [
      req.method,
      path,
      canonicalQuery,
      canonicalHeaders,
      signedHeaders,
      claimed ?? payloadHash,
    ].join('\n');
    const scope = `${date}/${region}/${service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
    let key = hmac(`AWS4${this.credentials.secretAccessKey}`, date);
    for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
    const expected = hmac(key, stringToSign);
    return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
  }
}
