/**
 * Starts the sessionize application (lib/telemetry/sessionize-application.ts). CloudFormation
 * creates a Managed Flink application but does not start it, and a stopped application stays
 * stopped through an update. The Provider framework calls `onEvent` once, then `isComplete` until
 * the application runs the version this deployment gave it:
 *
 * - Create: start it without a snapshot (there is none yet: `SKIP_RESTORE_FROM_SNAPSHOT`).
 * - Update: CloudFormation has already updated the application. A running one was updated in place
 *   (snapshot, new version, restore as its RunConfiguration says: the service does it): wait until
 *   it runs again. A stopped one (READY) is started from its latest snapshot, or without one when
 *   it has none or when `Restore` is `skip`; unmapped state is dropped only with
 *   `latest-allow-non-restored` (telemetry.flink.restore, the same as the application's RunConfiguration).
 * - Delete: nothing. CloudFormation's DeleteApplication stops the application and deletes it.
 *
 * RUNNING is not enough: with system rollback on, the service answers an update whose new version
 * fails (its code, its state, its settings) by going back to the previous version, which then runs.
 * So once RUNNING, the application's description must show the expected code key, runtime and
 * properties (given in the resource's properties), and must not show the version onEvent saw as
 * rolled back (`ApplicationVersionRolledBackFrom`); otherwise the deployment fails, and
 * CloudFormation rolls the stack back to the version that runs.
 *
 * ROLLED_BACK never fails onEvent: it is waited through. In CloudFormation's own rollback (an
 * Update with the previous properties) the rolled-back application runs exactly what is expected,
 * and the rollback completes; in a deployment it is a failure as soon as the description differs
 * from what is expected.
 */
import type { ApplicationState, ApplicationStatus, FlinkApi, RestoreType } from './flink-api';

export interface StartResourceProperties {
  readonly ApplicationName: string;
  /** Anything whose change should make CloudFormation send an Update (the code key, the properties). */
  readonly Revision?: string;
  /** The S3 key of the code the application must run (the jar asset's key: its content hash). */
  readonly CodeFileKey?: string;
  /** The runtime the application must run. */
  readonly RuntimeEnvironment?: string;
  /** telemetry.flink.restore: how a start restores state (`latest` when absent). */
  readonly Restore?: RestoreMode;
  /** The runtime properties the application must have, by property group id. */
  readonly PropertyGroups?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** telemetry.flink.restore. */
export type RestoreMode = 'latest' | 'latest-allow-non-restored' | 'skip';

export interface StartEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: StartResourceProperties & { readonly ServiceToken?: string };
}

/** What onEvent did, handed to isComplete in `Data`. */
export interface StartDecision {
  readonly Action: 'start' | 'wait' | 'none';
  readonly Restore?: RestoreType;
  readonly AllowNonRestoredState?: boolean;
  /** The status onEvent saw. */
  readonly Status?: ApplicationStatus;
  /** The application version onEvent saw: the one CloudFormation's update made. */
  readonly VersionId?: number;
}

export interface OnEventResult {
  readonly PhysicalResourceId: string;
  readonly Data: StartDecision;
}

export interface IsCompleteResult {
  readonly IsComplete: boolean;
}

/** Statuses that pass by themselves: a start, an update or a scaling in progress, a rollback. */
const TRANSITIONAL = new Set(['STARTING', 'UPDATING', 'AUTOSCALING', 'MAINTENANCE', 'ROLLING_BACK']);

function applicationName(event: StartEvent): string {
  const name = event.ResourceProperties.ApplicationName;
  if (!name) throw new Error('ApplicationName is required');
  return name;
}

export async function onEvent(event: StartEvent, api: FlinkApi): Promise<OnEventResult> {
  const name = applicationName(event);
  const done = (Data: StartDecision): OnEventResult => ({ PhysicalResourceId: name, Data });
  if (event.RequestType === 'Delete') return done({ Action: 'none' });

  const { status, versionId } = await api.describe(name);
  const seen = { Status: status, ...(versionId === undefined ? {} : { VersionId: versionId }) };
  if (status === 'RUNNING' || status === 'ROLLED_BACK' || TRANSITIONAL.has(status))
    return done({ Action: 'wait', ...seen });
  if (status !== 'READY')
    throw new Error(`${name} is ${status}: it can be started only when READY (stopped)`);

  const mode = event.ResourceProperties.Restore ?? 'latest';
  if (!['latest', 'latest-allow-non-restored', 'skip'].includes(mode))
    throw new Error(`Restore must be latest, latest-allow-non-restored or skip, not ${mode}`);
  const restore: RestoreType =
    event.RequestType === 'Update' && mode !== 'skip' && (await api.hasReadySnapshot(name))
      ? 'RESTORE_FROM_LATEST_SNAPSHOT'
      : 'SKIP_RESTORE_FROM_SNAPSHOT';
  const allowNonRestoredState = mode === 'latest-allow-non-restored';
  await api.start(name, restore, allowNonRestoredState);
  return done({ Action: 'start', Restore: restore, AllowNonRestoredState: allowNonRestoredState, ...seen });
}

/** How the application's description differs from the version the resource's properties expect. */
export function differences(expected: StartResourceProperties, state: ApplicationState): string[] {
  const found: string[] = [];
  if (expected.CodeFileKey !== undefined && state.codeFileKey !== expected.CodeFileKey)
    found.push(`code ${state.codeFileKey ?? '(none)'} instead of ${expected.CodeFileKey}`);
  if (expected.RuntimeEnvironment !== undefined && state.runtimeEnvironment !== expected.RuntimeEnvironment)
    found.push(`runtime ${state.runtimeEnvironment ?? '(none)'} instead of ${expected.RuntimeEnvironment}`);
  for (const [group, properties] of Object.entries(expected.PropertyGroups ?? {})) {
    const actual = state.propertyGroups[group] ?? {};
    const keys = [...new Set([...Object.keys(properties), ...Object.keys(actual)])]
      .filter((k) => properties[k] !== actual[k])
      .sort();
    if (keys.length > 0) found.push(`properties of group ${group} differ: ${keys.join(', ')}`);
  }
  return found;
}

export async function isComplete(
  event: StartEvent & { readonly Data?: StartDecision },
  api: FlinkApi,
): Promise<IsCompleteResult> {
  if (event.RequestType === 'Delete') return { IsComplete: true };
  const name = applicationName(event);
  const state = await api.describe(name);
  const { status } = state;
  if (status === 'RUNNING' || status === 'ROLLED_BACK') {
    const found = differences(event.ResourceProperties, state);
    const rolledBack = state.rolledBackFrom !== undefined && state.rolledBackFrom === event.Data?.VersionId;
    if (found.length > 0 || rolledBack) {
      const why = rolledBack
        ? `the service rolled back version ${state.rolledBackFrom} (ApplicationVersionRolledBackFrom), which this deployment made`
        : 'the service rolled the update back (or the application was changed outside CloudFormation)';
      throw new Error(
        `${name} is ${status} with version ${state.versionId ?? '?'}, not the one this deployment gave it: ${why}` +
          `${found.length > 0 ? ` (${found.join('; ')})` : ''}. Why the new version failed is in its CloudWatch log group`,
      );
    }
    // ROLLED_BACK to what is expected (CloudFormation's own rollback): wait until it runs.
    return { IsComplete: status === 'RUNNING' };
  }
  if (TRANSITIONAL.has(status)) return { IsComplete: false };
  // READY again after a start: the job failed to start (the application's log group says why).
  throw new Error(
    `${name} is ${status} instead of RUNNING after ${event.Data?.Action ?? 'the start'}: see its CloudWatch log group`,
  );
}
