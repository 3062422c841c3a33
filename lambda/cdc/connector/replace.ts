/**
 * The CDC connector as a custom resource (Provider framework: onEvent starts an operation,
 * isComplete polls until MSK Connect has finished it). Why not `AWS::KafkaConnect::Connector`:
 * its `Plugins`, `WorkerConfiguration`, `KafkaCluster`, `LogDelivery` and role are create-only, so
 * a plugin upgrade or worker-configuration change makes CloudFormation create a replacement BEFORE
 * it deletes the old connector, and MSK Connect refuses a second connector of the same name
 * (ConflictException). Under another name the replacement would find no source offsets (Kafka
 * Connect keys them by connector name) and, with `snapshot.mode=initial`, snapshot the table again.
 *
 * This resource keeps ONE name. A change of anything but the connector configuration deletes the
 * old connector, waits until it is gone (its task stops and commits its offsets; the replication
 * slot is released), then creates the new one under the same name: it reads the old one's offsets
 * from the shared `offset.storage.topic` (the catalog's cdc.connect-offsets, in every worker
 * configuration) and streams on from there, without a snapshot. A change of the connector
 * configuration alone is applied in place with UpdateConnector (same connector, same offsets).
 */
import type { ConnectorSpec, ConnectorSummary, MskConnectApi } from './msk-connect';

/** The properties the construct gives the resource. */
export interface ConnectorResourceProperties {
  /** The CreateConnector request body, as JSON (CloudFormation stringifies nested values otherwise). */
  readonly Connector: string;
}

export interface ConnectorEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: ConnectorResourceProperties & { readonly ServiceToken?: string };
  readonly OldResourceProperties?: ConnectorResourceProperties & { readonly ServiceToken?: string };
}

/** What onEvent started, handed to isComplete in `Data`. */
export type Operation =
  | { readonly Action: 'create' }
  | { readonly Action: 'replace'; readonly ReplacedArn: string }
  | { readonly Action: 'update'; readonly ConnectorArn: string }
  | { readonly Action: 'delete' }
  | { readonly Action: 'none'; readonly ConnectorArn: string };

export interface OnEventResult {
  readonly PhysicalResourceId: string;
  readonly Data: Operation;
}

export interface IsCompleteResult {
  readonly IsComplete: boolean;
  readonly Data?: { readonly ConnectorArn: string };
}

/** The connector specification of a set of resource properties. */
export function specOf(properties: ConnectorResourceProperties): ConnectorSpec {
  const spec = JSON.parse(properties.Connector) as ConnectorSpec;
  if (!spec.connectorName || typeof spec.connectorConfiguration !== 'object')
    throw new Error(
      'Connector must be a CreateConnector request with connectorName and connectorConfiguration',
    );
  return spec;
}

/** Property names whose change needs a new connector (everything but the connector configuration). */
export function replacingChanges(before: ConnectorSpec, after: ConnectorSpec): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return keys
    .filter((k) => k !== 'connectorConfiguration')
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .sort();
}

function configurationChanged(before: ConnectorSpec, after: ConnectorSpec): boolean {
  const canonical = (c: Record<string, string>) =>
    JSON.stringify(Object.entries(c).sort(([a], [b]) => (a < b ? -1 : 1)));
  return canonical(before.connectorConfiguration) !== canonical(after.connectorConfiguration);
}

/** The connector of that name that is not being deleted (at most one may exist). */
async function live(api: MskConnectApi, name: string): Promise<ConnectorSummary | undefined> {
  const found = (await api.connectorsNamed(name)).filter((c) => c.connectorState !== 'DELETING');
  if (found.length > 1)
    throw new Error(
      `${found.length} connectors named ${name}: ${found.map((c) => c.connectorArn).join(', ')}`,
    );
  return found[0];
}

export async function onEvent(event: ConnectorEvent, api: MskConnectApi): Promise<OnEventResult> {
  const spec = specOf(event.ResourceProperties);
  const name = spec.connectorName;
  const result = (Data: Operation): OnEventResult => ({ PhysicalResourceId: name, Data });

  if (event.RequestType === 'Create') {
    const existing = await live(api, name);
    if (existing)
      throw new Error(
        `a connector named ${name} already exists (${existing.connectorArn}, ${existing.connectorState}); this resource creates its own`,
      );
    // The create itself happens in isComplete, once no connector of this name is left (a rolled-back
    // earlier attempt may still be deleting).
    return result({ Action: 'create' });
  }

  if (event.RequestType === 'Delete') {
    const existing = await live(api, event.PhysicalResourceId ?? name);
    if (existing) await api.remove(existing.connectorArn, existing.currentVersion);
    return { PhysicalResourceId: event.PhysicalResourceId ?? name, Data: { Action: 'delete' } };
  }

  const before = specOf(event.OldResourceProperties!);
  if (before.connectorName !== name)
    throw new Error(
      `the connector name cannot change (${before.connectorName} -> ${name}): source offsets are keyed by it`,
    );
  const current = await live(api, name);
  if (!current) return result({ Action: 'create' });
  if (replacingChanges(before, spec).length > 0) {
    await api.remove(current.connectorArn, current.currentVersion);
    return result({ Action: 'replace', ReplacedArn: current.connectorArn });
  }
  if (configurationChanged(before, spec)) {
    await api.updateConfiguration(current.connectorArn, current.currentVersion, spec.connectorConfiguration);
    return result({ Action: 'update', ConnectorArn: current.connectorArn });
  }
  return result({ Action: 'none', ConnectorArn: current.connectorArn });
}

function failure(
  name: string,
  c: { connectorArn: string; stateDescription?: { code?: string; message?: string } },
): Error {
  const why = c.stateDescription
    ? `${c.stateDescription.code ?? ''} ${c.stateDescription.message ?? ''}`.trim()
    : 'no reason given';
  return new Error(`connector ${name} (${c.connectorArn}) FAILED: ${why}`);
}

export async function isComplete(
  event: ConnectorEvent & { readonly Data: Operation },
  api: MskConnectApi,
): Promise<IsCompleteResult> {
  const spec = specOf(event.ResourceProperties);
  const name = spec.connectorName;
  const operation = event.Data;
  const waiting: IsCompleteResult = { IsComplete: false };

  switch (operation.Action) {
    case 'none':
      return { IsComplete: true, Data: { ConnectorArn: operation.ConnectorArn } };
    case 'delete':
      return { IsComplete: (await api.connectorsNamed(event.PhysicalResourceId ?? name)).length === 0 };
    case 'update': {
      const c = await api.describe(operation.ConnectorArn);
      if (!c) throw new Error(`connector ${name} (${operation.ConnectorArn}) disappeared during its update`);
      if (c.connectorState === 'FAILED') throw failure(name, c);
      return c.connectorState === 'RUNNING'
        ? { IsComplete: true, Data: { ConnectorArn: c.connectorArn } }
        : waiting;
    }
    case 'create':
    case 'replace': {
      const all = await api.connectorsNamed(name);
      // First the old connector must be gone: its task commits its offsets and releases the slot.
      const replaced = operation.Action === 'replace' ? operation.ReplacedArn : undefined;
      if (all.some((c) => c.connectorState === 'DELETING' || c.connectorArn === replaced)) return waiting;
      if (all.length === 0) {
        await api.create(spec);
        return waiting;
      }
      if (all.length > 1) throw new Error(`${all.length} connectors named ${name}`);
      const c = (await api.describe(all[0]!.connectorArn)) ?? all[0]!;
      if (c.connectorState === 'FAILED') throw failure(name, c);
      return c.connectorState === 'RUNNING'
        ? { IsComplete: true, Data: { ConnectorArn: c.connectorArn } }
        : waiting;
    }
  }
}
