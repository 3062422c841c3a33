/**
 * API Gateway's account settings (the CloudWatch Logs role, `AWS::ApiGateway::Account`) are ONE
 * setting per AWS account and region, not a property of an API. `environments.<env>.ingest.
 * ownsApiGatewayAccount` says which environment's sources stack creates and keeps it; this check
 * makes sure that no two environments that may share an account and region both do, since they
 * would overwrite each other's role. It reads every environment of cdk.json, not only the ones being
 * synthesized, because the environments are deployed one at a time.
 */

/** Where the check reports (the config's issue collector). */
export interface ConfigIssueSink {
  add(key: string, message: string): void;
}

interface Owner {
  readonly envName: string;
  readonly account?: string;
  readonly region?: string;
}

function stringField(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' ? field : undefined;
}

/** Whether two environments can be in the same account and region, as far as synth knows. */
function mayShare(a: Owner, b: Owner): boolean {
  const sameAccount = a.account === undefined || b.account === undefined || a.account === b.account;
  const sameRegion = a.region === undefined || b.region === undefined || a.region === b.region;
  return sameAccount && sameRegion;
}

function where(owner: Owner): string {
  return owner.account && owner.region
    ? `account ${owner.account}, ${owner.region}`
    : 'no account and region given, so any account and region';
}

/**
 * Reports every environment that owns the API Gateway account settings while an earlier one (in
 * cdk.json order) may own them in the same account and region.
 */
export function checkApiGatewayAccountOwners(environments: object, issues: ConfigIssueSink): void {
  const owners: Owner[] = [];
  for (const [envName, raw] of Object.entries(environments)) {
    const ingest =
      typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).ingest : undefined;
    if (typeof ingest !== 'object' || ingest === null) continue;
    if ((ingest as Record<string, unknown>).ownsApiGatewayAccount !== true) continue;
    const owner: Owner = {
      envName,
      account: stringField(raw, 'account'),
      region: stringField(raw, 'region'),
    };
    const clash = owners.find((other) => mayShare(other, owner));
    if (clash) {
      issues.add(
        `environments.${envName}.ingest.ownsApiGatewayAccount`,
        `environment ${clash.envName} (${where(clash)}) already owns the API Gateway account settings, one per ` +
          `account and region, and ${envName} (${where(owner)}) may share them; set this to false, or give both ` +
          `environments account and region to show that they differ`,
      );
    } else {
      owners.push(owner);
    }
  }
}
