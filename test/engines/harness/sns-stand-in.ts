/**
 * A local stand-in for Amazon SNS, for the alerting consumer's engine tests: SNS itself cannot run on
 * this machine (no service emulator is installed, no Docker), so this HTTP server speaks the part of
 * the SNS API the consumer uses, the way `@aws-sdk/client-sns` 3.1169.0 calls it: the AWS query
 * protocol (POST `/`, `application/x-www-form-urlencoded`, `Action=Publish&Version=2010-03-31&...`,
 * `MessageAttributes.entry.N.Name/Value.DataType/Value.StringValue`), answered in XML
 * (`PublishResponse`, or `ErrorResponse` with `Type`, `Code`, `Message`).
 *
 * What it checks on every request: a SigV4 `Authorization` header whose credential scope names
 * service `sns` and the expected region, and whose signature it recomputes from the request (method,
 * path, query, signed headers, body hash) with the local secret: a request the SDK did not sign,
 * or signed for another service or region, is refused (403) and recorded in `refused`. Then the
 * action (Publish only), the version and the topic (created here first).
 *
 * What it records: each accepted Publish (topic ARN, subject, message, attributes, message id) in
 * `published`; every request in `requests` with the status it got. `failNext(n, failure)` answers the
 * next n valid Publish requests with an error (throttling 429 `Throttled` as the SDK's model has it,
 * 500 `InternalError`, or any other status and code) without recording them as published.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { freePort } from './ports';

/** The local credentials the consumer's SNS client signs with when SNS_ENDPOINT is set (lambda/alerting/alerting.ts). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

const LOCAL_ACCOUNT = '000000000000';

export interface PublishedMessage {
  readonly topicArn: string;
  readonly subject: string | undefined;
  readonly message: string;
  /** Attribute name -> data type and value. */
  readonly attributes: Readonly<Record<string, { readonly dataType: string; readonly value: string }>>;
  readonly messageId: string;
}

export interface StandInRequest {
  readonly action: string | undefined;
  readonly status: number;
  /** The error code answered, if any. */
  readonly code?: string;
}

export interface InjectedFailure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  /** `Sender` (4xx) or `Receiver` (5xx). @default by status */
  readonly type?: 'Sender' | 'Receiver';
}

/** Throttling as SNS's model declares it (`Throttled`, HTTP 429). */
export const THROTTLED: InjectedFailure = { status: 429, code: 'Throttled', message: 'Rate exceeded' };
/** A server-side failure. */
export const INTERNAL_ERROR: InjectedFailure = {
  status: 500,
  code: 'InternalError',
  message: 'Internal service error',
};
/** What SNS answers to a message over its size limit (permanent). */
export const MESSAGE_TOO_LONG: InjectedFailure = {
  status: 400,
  code: 'InvalidParameter',
  message: 'Invalid parameter: Message too long',
};

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept). */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Recomputes a SigV4 signature (AWS General Reference, "Create a signed AWS API request"): an error
 * text when the request is not signed for `service` in `region` with these credentials, else undefined.
 */
export function sigV4Problem(
  request: { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer },
  expected: { service: string; region: string; accessKeyId: string; secretAccessKey: string },
): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization !== 'string') return 'no Authorization header';
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!match) return `not a SigV4 Authorization header: ${authorization}`;
  const [, credential, signedHeaders, signature] = match as unknown as [string, string, string, string];
  const [accessKeyId, date, region, service, terminator] = credential.split('/');
  if (accessKeyId !== expected.accessKeyId) return `signed with access key ${accessKeyId}`;
  if (service !== expected.service) return `signed for service ${service}, not ${expected.service}`;
  if (region !== expected.region) return `signed for region ${region}, not ${expected.region}`;
  if (terminator !== 'aws4_request') return `credential scope ends with ${terminator}`;
  const amzDate = request.headers['x-amz-date'];
  if (typeof amzDate !== 'string' || !amzDate.startsWith(date ?? '-'))
    return 'x-amz-date missing or not the scope date';
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date'))
    return `host and x-amz-date not signed: ${signedHeaders}`;
  const url = new URL(request.url, 'http://stand-in');
  const query = [...url.searchParams]
    .map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`)
    .sort()
    .join('&');
  const canonicalHeaders = names
    .map((name) => {
      const value = request.headers[name];
      const text = Array.isArray(value) ? value.join(',') : (value ?? '');
      return `${name}:${text.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const payloadHash =
    typeof request.headers['x-amz-content-sha256'] === 'string'
      ? request.headers['x-amz-content-sha256']
      : sha256Hex(request.body);
  if (payloadHash !== sha256Hex(request.body)) return 'x-amz-content-sha256 is not the body hash';
  const path = url.pathname
    .split('/')
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .join('/');
  const canonicalRequest = [request.method, path, query, canonicalHeaders, signedHeaders, payloadHash].join(
    '\n',
  );
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let key: Buffer = hmac(`AWS4${expected.secretAccessKey}`, date!);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const computed = createHmac('sha256', key).update(stringToSign).digest('hex');
  return computed === signature ? undefined : 'the signature does not match the request';
}

/** The attributes of a query-protocol Publish: `MessageAttributes.entry.N.{Name,Value.DataType,Value.StringValue}`. */
function attributesOf(form: URLSearchParams): Record<string, { dataType: string; value: string }> {
  const out: Record<string, { dataType: string; value: string }> = {};
  for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n++) {
    const prefix = `MessageAttributes.entry.${n}`;
    out[form.get(`${prefix}.Name`)!] = {
      dataType: form.get(`${prefix}.Value.DataType`) ?? '',
      value: form.get(`${prefix}.Value.StringValue`) ?? '',
    };
  }
  return out;
}

export class SnsStandIn {
  /** `http://127.0.0.1:<port>`: what `SNS_ENDPOINT` is set to. */
  public readonly endpoint: string;
  public readonly published: PublishedMessage[] = [];
  public readonly requests: StandInRequest[] = [];
  /** Requests refused for their signature (none expected from the SDK). */
  public readonly refused: { readonly reason: string }[] = [];
  private readonly topics = new Set<string>();
  private failures: InjectedFailure[] = [];

  private constructor(
    private readonly server: Server,
    port: number,
    public readonly region: string,
  ) {
    this.endpoint = `http://127.0.0.1:${port}`;
  }

  /** Starts the stand-in on a free port of 127.0.0.1. */
  static async start(options: { region?: string } = {}): Promise<SnsStandIn> {
    const port = await freePort();
    const holder: { standIn?: SnsStandIn } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => holder.standIn!.handle(req, Buffer.concat(chunks), res));
    });
    const standIn = new SnsStandIn(server, port, options.region ?? 'us-east-1');
    holder.standIn = standIn;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return standIn;
  }

  /** Creates a topic and returns its ARN (`arn:aws:sns:<region>:000000000000:<name>`). */
  createTopic(name: string): string {
    const arn = `arn:aws:sns:${this.region}:${LOCAL_ACCOUNT}:${name}`;
    this.topics.add(arn);
    return arn;
  }

  /** Answers the next `n` valid Publish requests with `failure`. */
  failNext(n: number, failure: InjectedFailure = THROTTLED): void {
    this.failures.push(...Array.from({ length: n }, () => failure));
  }

  /** The messages published to one topic. */
  publishedTo(topicArn: string): PublishedMessage[] {
    return this.published.filter((m) => m.topicArn === topicArn);
  }

  /** Resolves once at least `count` messages were published (polling), or rejects after `timeoutMs`. */
  async waitForPublished(count: number, timeoutMs = 30_000): Promise<PublishedMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.published.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`${this.published.length} of ${count} messages published after ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return [...this.published];
  }

  /** Forgets what was published and requested (topics stay). */
  reset(): void {
    this.published.length = 0;
    this.requests.length = 0;
    this.refused.length = 0;
    this.failures = [];
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
  }

  private handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const form = new URLSearchParams(body.toString('utf8'));
    const action = form.get('Action') ?? undefined;
    const error = (status: number, code: string, message: string, type?: 'Sender' | 'Receiver') => {
      this.requests.push({ action, status, code });
      const requestId = randomUUID();
      res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
      res.end(
        `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${type ?? (status >= 500 ? 'Receiver' : 'Sender')}</Type>` +
          `<Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error>` +
          `<RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
    };
    const problem = sigV4Problem(
      { method: req.method ?? '', url: req.url ?? '/', headers: req.headers, body },
      { service: 'sns', region: this.region, ...LOCAL_CREDENTIALS },
    );
    if (problem) {
      this.refused.push({ reason: problem });
      return error(403, 'SignatureDoesNotMatch', problem);
    }
    if (
      req.method !== 'POST' ||
      !String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')
    ) {
      return error(400, 'InvalidRequest', 'expected a form-encoded POST (the query protocol)');
    }
    if (action !== 'Publish')
      return error(400, 'InvalidAction', `the stand-in serves Publish only, not ${action}`);
    if (form.get('Version') !== '2010-03-31')
      return error(400, 'InvalidParameter', 'Version must be 2010-03-31');
    const topicArn = form.get('TopicArn') ?? '';
    if (!this.topics.has(topicArn)) return error(404, 'NotFound', 'Topic does not exist');
    const message = form.get('Message');
    if (message === null || message === '') return error(400, 'InvalidParameter', 'Empty message');
    const failure = this.failures.shift();
    if (failure) return error(failure.status, failure.code, failure.message, failure.type);
    const messageId = randomUUID();
    this.published.push({
      topicArn,
      subject: form.get('Subject') ?? undefined,
      message,
      attributes: attributesOf(form),
      messageId,
    });
    this.requests.push({ action, status: 200 });
    const requestId = randomUUID();
    res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
    res.end(
      `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${messageId}</MessageId></PublishResult>` +
        `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`,
    );
  }
}
