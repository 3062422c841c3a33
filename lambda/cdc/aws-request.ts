/**
 * One signed JSON request to an AWS API (SigV4 with the function's own credentials), for the two
 * calls the CDC custom resources make: MSK Connect's REST API (`kafkaconnect`) and Secrets
 * Manager's GetSecretValue. The service clients of the AWS SDK for JavaScript v3 are not
 * dependencies of this project; their wire formats for these few operations are small and fixed.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** The credentials Lambda puts in every function's environment. */
export function lambdaCredentials(env: NodeJS.ProcessEnv = process.env): AwsCredentials {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (!accessKeyId || !secretAccessKey)
    throw new Error('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set');
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}

/** An AWS API error: HTTP status, the service's error type (e.g. `NotFoundException`) and message. */
export class AwsApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly type: string,
    message: string,
  ) {
    super(`${type} (HTTP ${status}): ${message}`);
  }
}

export interface AwsRequest {
  readonly service: string;
  readonly region: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path with every label already URI-encoded (an ARN label: encodeURIComponent). */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /**
   * Where to send it instead of `https://<service>.<region>.amazonaws.com` (an `http://host:port`
   * of a local stand-in in tests). The request is signed for that host.
   */
  readonly endpoint?: string;
  readonly credentials?: AwsCredentials;
}

/** Sends the request; resolves with the parsed JSON body, throws AwsApiError on a non-2xx answer. */
export async function awsJsonRequest<T>(request: AwsRequest): Promise<T> {
  const base = new URL(request.endpoint ?? `https://${request.service}.${request.region}.amazonaws.com`);
  const hostname = base.host;
  const body = request.body === undefined ? undefined : JSON.stringify(request.body);
  const signer = new SignatureV4({
    service: request.service,
    region: request.region,
    credentials: request.credentials ?? lambdaCredentials(),
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: request.method,
    protocol: base.protocol,
    hostname,
    path: request.path,
    query: { ...request.query },
    headers: {
      host: hostname,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...request.headers,
    },
    body,
  });
  const query = new URLSearchParams(request.query ?? {}).toString();
  const response = await fetch(`${base.protocol}//${hostname}${request.path}${query ? `?${query}` : ''}`, {
    method: request.method,
    headers: signed.headers,
    body,
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  const parsed = (text.length > 0 ? JSON.parse(text) : {}) as Record<string, unknown>;
  if (!response.ok) {
    const text_ = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const type =
      response.headers.get('x-amzn-errortype')?.split(':')[0] ??
      (text_(parsed.__type) ?? 'UnknownError').split('#').pop()!;
    throw new AwsApiError(response.status, type, text_(parsed.message) ?? text_(parsed.Message) ?? text);
  }
  return parsed as T;
}
