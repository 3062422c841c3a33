/**
 * Starts the sessionize application (lib/telemetry/sessionize-application.ts). CloudFormation
 * creates a Managed Flink application but does not start it, and a stopped application stays
 * stopped through an update. The Provider framework calls `onEvent` once, then `isComplete` until
 * the application runs:
 *
 * - Create: start it without a snapshot (there is none yet: `SKIP_RESTORE_FROM_SNAPSHOT`).
 * - Update: CloudFormation has already updated the application. A running one was updated in place
 *   (snapshot, new version, restore: the service does it): wait until it runs again. A stopped one
 *   (READY) is started from its latest snapshot, or without one when it has none.
 * - Delete: nothing. CloudFormation's DeleteApplication stops the application and deletes it.
 */
import type { ApplicationStatus, FlinkApi, RestoreType } from './flink-api';

export interface StartResourceProperties {
  readonly ApplicationName: string;
  /** Anything whose change should make CloudFormation send an Update (the code key, the properties). */
  readonly Revision?: string;
}

export interface StartEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: StartResourceProperties & { readonly ServiceToken?: string };
}

/** What onEvent did, handed to isComplete in `Data`. */
export interface StartDecision {
  readonly Action: 'start' | 'wait' | 'none';
  readonly Restore?: RestoreType;
  /** The status onEvent saw. */
  readonly Status?: ApplicationStatus;
}

export interface OnEventResult {
  readonly PhysicalResourceId: string;
  readonly Data: StartDecision;
}

export interface IsCompleteResult {
  readonly IsComplete: boolean;
}

/** Statuses that pass by themselves: a start, an update or a scaling in progress. */
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

  const status = await api.status(name);
  if (status === 'RUNNING' || TRANSITIONAL.has(status)) return done({ Action: 'wait', Status: status });
  if (status !== 'READY')
    throw new Error(`${name} is ${status}: it can be started only when READY (stopped)`);

  const restore: RestoreType =
    event.RequestType === 'Update' && (await api.hasReadySnapshot(name))
      ? 'RESTORE_FROM_LATEST_SNAPSHOT'
      : 'SKIP_RESTORE_FROM_SNAPSHOT';
  await api.start(name, restore);
  return done({ Action: 'start', Restore: restore, Status: status });
}

export async function isComplete(
  event: StartEvent & { readonly Data?: StartDecision },
  api: FlinkApi,
): Promise<IsCompleteResult> {
  if (event.RequestType === 'Delete') return { IsComplete: true };
  const name = applicationName(event);
  const status = await api.status(name);
  if (status === 'RUNNING') return { IsComplete: true };
  if (TRANSITIONAL.has(status)) return { IsComplete: false };
  // READY again after a start: the job failed to start (the application's log group says why).
  throw new Error(
    `${name} is ${status} instead of RUNNING after ${event.Data?.Action ?? 'the start'}: see its CloudWatch log group`,
  );
}
