/**
 * The MSK IAM authentication token (SASL OAUTHBEARER), built as aws-msk-iam-sasl-signer-js 1.0.3
 * builds it: a SigV4-presigned `GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster:Connect`
 * (service `kafka-cluster`, valid 900 s or until the credentials expire, whichever is sooner) plus
 * its `User-Agent` query parameter, as unpadded base64url. A unit test compares it byte for byte
 * with the library's token for the same credentials and clock.
 *
 * Why not the library: its entry point loads the STS client and the SDK's whole Node.js credential
 * chain (500 kB of a 1 MB bundle), and SigV4 from @smithy/signature-v4 brings 160 kB of
 * @smithy/core; a Lambda function only signs one URL with the credentials Lambda puts in its
 * environment, which node:crypto does in a page of code.
 */
import { createHash, createHmac } from 'node:crypto';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** The token's lifetime when the credentials do not expire sooner (the library's value). */
export const MSK_TOKEN_TTL_SECONDS = 900;
/** The library whose token this reproduces; MSK sees it as the client's user agent. */
export const MSK_SIGNER_USER_AGENT = 'aws-msk-iam-sasl-signer-js/1.0.3';

/**
 * The credentials Lambda gives every function in its environment (the first link of the SDK's
 * default chain, and the only one a function needs).
 */
export function credentialsFromEnvironment(env: NodeJS.ProcessEnv = process.env): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error(
      'IAM authentication needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (Lambda sets them)',
    );
  }
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(env.AWS_CREDENTIAL_EXPIRATION ? { expiration: new Date(env.AWS_CREDENTIAL_EXPIRATION) } : {}),
  };
}

/** AWS's URI escaping: everything but RFC 3986 unreserved characters, hex in upper case. */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function queryString(query: Readonly<Record<string, string>>): string {
  return Object.keys(query)
    .sort()
    .map((key) => `${escapeUri(key)}=${escapeUri(query[key]!)}`)
    .join('&');
}

const hmac = (key: string | Buffer, data: string): Buffer =>
  createHmac('sha256', key).update(data, 'utf8').digest();
const sha256Hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');

/** Builds the token for the cluster's region, signed at `now`. */
export function mskIamToken(
  region: string,
  credentials: AwsCredentials,
  now: Date = new Date(),
): { token: string; expiresAt: number } {
  if (!region) throw new Error('IAM authentication needs a region');
  const service = 'kafka-cluster';
  const hostname = `kafka.${region}.amazonaws.com`;
  const ttl =
    credentials.expiration === undefined
      ? MSK_TOKEN_TTL_SECONDS
      : Math.min(
          Math.floor((credentials.expiration.getTime() - now.getTime()) / 1000),
          MSK_TOKEN_TTL_SECONDS,
        );
  if (!(ttl > 0)) throw new Error('the AWS credentials have expired');
  const longDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, ''); // 20261125T063357Z
  const shortDate = longDate.slice(0, 8);
  const scope = `${shortDate}/${region}/${service}/aws4_request`;

  const query: Record<string, string> = {
    Action: 'kafka-cluster:Connect',
    ...(credentials.sessionToken ? { 'X-Amz-Security-Token': credentials.sessionToken } : {}),
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${credentials.accessKeyId}/${scope}`,
    'X-Amz-Date': longDate,
    'X-Amz-Expires': String(ttl),
    'X-Amz-SignedHeaders': 'host',
  };
  const emptyPayloadHash = sha256Hex('');
  const canonicalRequest = [
    'GET',
    '/',
    queryString(query),
    `host:${hostname}`,
    '',
    'host',
    emptyPayloadHash,
  ].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', longDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, shortDate), region), service),
    'aws4_request',
  );
  query['X-Amz-Signature'] = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
  query['User-Agent'] = MSK_SIGNER_USER_AGENT;

  const url = `https://${hostname}/?${queryString(query)}`;
  return {
    token: Buffer.from(url, 'utf8').toString('base64url'),
    expiresAt: Math.floor(now.getTime() / 1000) * 1000 + ttl * 1000,
  };
}
