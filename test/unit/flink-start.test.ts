/**
 * The start custom resource's decisions (lambda/flink-start) against a fake Managed Flink: the
 * AWS control plane cannot run here (no endpoint is reachable, and Managed Flink has no local
 * edition), so the fake behaves as the API documents it (StartApplication only from READY, the
 * application STARTING for a few describes, then RUNNING; a system rollback runs the previous
 * version again and names the reverted one in ApplicationVersionRolledBackFrom) and records every call.
 */
import type {
  ApplicationState,
  ApplicationStatus,
  FlinkApi,
  RestoreType,
} from '../../lambda/flink-start/flink-api';
import { isComplete, onEvent, type StartEvent } from '../../lambda/flink-start/start';

const APP = 'streaming-dev-sessionize';

/** What a deployment gives the application (the resource's properties) and what it runs. */
const NEW = {
  codeFileKey: 'new0000000000000000000000000000000000000000000000000000000000000000.jar',
  runtimeEnvironment: 'FLINK-2_2',
  propertyGroups: { sessionize: { 'source.topic': 'telemetry.raw', 'session.gap.interval': '0 00:05:00' } },
};
/** The version before it: another jar and another gap. */
const OLD = {
  codeFileKey: 'old0000000000000000000000000000000000000000000000000000000000000000.jar',
  runtimeEnvironment: 'FLINK-2_2',
  propertyGroups: { sessionize: { 'source.topic': 'telemetry.raw', 'session.gap.interval': '0 00:10:00' } },
};
type Version = typeof NEW;
type Step = Partial<Omit<ApplicationState, 'propertyGroups'>> & { readonly runs?: Version };

class FakeFlink implements FlinkApi {
  readonly calls: string[] = [];
  private polls = 0;
  /** What the application has: version 4, made by the deployment under test, is NEW. */
  versionId = 4;
  runs: Version = NEW;
  rolledBackFrom: number | undefined;
  /** What the describes after the first find, one step each (the service moving on by itself). */
  readonly steps: Step[] = [];
  constructor(
    public state: ApplicationStatus,
    private readonly snapshots: ('READY' | 'CREATING' | 'FAILED')[] = [],
    /** Where a start ends: RUNNING, or READY again when the job fails to start. */
    private readonly startsInto: ApplicationStatus = 'RUNNING',
    private readonly pollsToRun = 2,
  ) {}

  /** The service's system rollback of the current version: the previous one runs again. */
  rollsBack(through: ApplicationStatus[] = ['ROLLING_BACK']): this {
    const from = this.versionId;
    for (const status of through) this.steps.push({ status });
    this.steps.push({ status: 'RUNNING', runs: OLD, rolledBackFrom: from, versionId: from + 1 });
    return this;
  }

  describe(name: string): Promise<ApplicationState> {
    this.calls.push(`describe ${name}`);
    // The first describe (onEvent's) finds the state as set up; each later one the next step.
    const step =
      this.calls.filter((c) => c.startsWith('describe')).length > 1 ? this.steps.shift() : undefined;
    if (step) {
      if (step.status) this.state = step.status;
      if (step.runs) this.runs = step.runs;
      if (step.versionId !== undefined) this.versionId = step.versionId;
      if (step.rolledBackFrom !== undefined) this.rolledBackFrom = step.rolledBackFrom;
    }
    if (this.state === 'STARTING' && ++this.polls >= this.pollsToRun) this.state = this.startsInto;
    return Promise.resolve({
      status: this.state,
      versionId: this.versionId,
      rolledBackFrom: this.rolledBackFrom,
      ...this.runs,
    });
  }

  hasReadySnapshot(name: string): Promise<boolean> {
    this.calls.push(`snapshots ${name}`);
    return Promise.resolve(this.snapshots.includes('READY'));
  }

  start(name: string, restore: RestoreType, allowNonRestoredState: boolean): Promise<void> {
    this.calls.push(`start ${name} ${restore}${allowNonRestoredState ? ' allowing non-restored state' : ''}`);
    if (this.state !== 'READY') throw new Error(`ResourceInUseException: ${name} is ${this.state}`);
    this.state = 'STARTING';
    this.polls = 0;
    return Promise.resolve();
  }
}

/** The resource's properties for a version: what the application must run. */
const expecting = (v: Version) => ({
  CodeFileKey: v.codeFileKey,
  RuntimeEnvironment: v.runtimeEnvironment,
  PropertyGroups: v.propertyGroups,
});

const event = (RequestType: StartEvent['RequestType'], version: Version = NEW): StartEvent => ({
  RequestType,
  ...(RequestType === 'Create' ? {} : { PhysicalResourceId: APP }),
  ResourceProperties: { ApplicationName: APP, Revision: 'r1', ...expecting(version) },
});

/** Runs onEvent, then isComplete until it completes (or throws), as the Provider framework does. */
async function run(type: StartEvent['RequestType'], api: FakeFlink, version: Version = NEW): Promise<number> {
  const started = await onEvent(event(type, version), api);
  expect(started.PhysicalResourceId).toBe(APP);
  for (let polls = 1; polls <= 10; polls++) {
    if ((await isComplete({ ...event(type, version), Data: started.Data }, api)).IsComplete) return polls;
  }
  throw new Error('never completed');
}

describe('create', () => {
  test('starts the new application without a snapshot and waits until it runs', async () => {
    const api = new FakeFlink('READY');
    expect(await run('Create', api)).toBe(2);
    expect(api.calls).toEqual([
      `describe ${APP}`,
      `start ${APP} SKIP_RESTORE_FROM_SNAPSHOT`,
      `describe ${APP}`,
      `describe ${APP}`,
    ]);
    expect(api.state).toBe('RUNNING');
  });

  test('an application already starting or running is only waited for (a retried create)', async () => {
    const api = new FakeFlink('RUNNING');
    expect(await onEvent(event('Create'), api)).toEqual({
      PhysicalResourceId: APP,
      Data: { Action: 'wait', Status: 'RUNNING', VersionId: 4 },
    });
    expect(api.calls).toEqual([`describe ${APP}`]);
  });

  test('a job that fails to start (READY again) fails the deployment with a pointer to its log', async () => {
    const api = new FakeFlink('READY', [], 'READY');
    await expect(run('Create', api)).rejects.toThrow(
      `${APP} is READY instead of RUNNING after start: see its CloudWatch log group`,
    );
  });

  test('an application in a state it cannot start from fails at once', async () => {
    await expect(onEvent(event('Create'), new FakeFlink('DELETING'))).rejects.toThrow(
      `${APP} is DELETING: it can be started only when READY (stopped)`,
    );
  });
});

describe('update', () => {
  test('a running application (updated in place by CloudFormation) is waited for, not started', async () => {
    const api = new FakeFlink('RUNNING', ['READY']);
    expect(await run('Update', api)).toBe(1);
    expect(api.calls).toEqual([`describe ${APP}`, `describe ${APP}`]);
  });

  test('RUNNING with the expected code key, runtime and properties completes the deployment', async () => {
    const api = new FakeFlink('UPDATING');
    api.steps.push({ status: 'UPDATING' }, { status: 'RUNNING' });
    expect(await run('Update', api)).toBe(2);
    expect(api.runs).toBe(NEW);
  });

  test('an update the service rolled back (a new jar) fails the deployment, though the old version RUNS', async () => {
    const api = new FakeFlink('UPDATING').rollsBack(['ROLLING_BACK']);
    await expect(run('Update', api)).rejects.toThrow(
      `${APP} is RUNNING with version 5, not the one this deployment gave it: the service rolled back version 4 (ApplicationVersionRolledBackFrom), which this deployment made (code ${OLD.codeFileKey} instead of ${NEW.codeFileKey}; properties of group sessionize differ: session.gap.interval). Why the new version failed is in its CloudWatch log group`,
    );
    expect(api.state).toBe('RUNNING');
  });

  test('a rolled-back update of the properties only (same jar) fails the deployment too', async () => {
    const api = new FakeFlink('UPDATING');
    api.steps.push({
      status: 'RUNNING',
      runs: { ...NEW, propertyGroups: OLD.propertyGroups },
      rolledBackFrom: 4,
      versionId: 5,
    });
    await expect(run('Update', api)).rejects.toThrow(
      'rolled back version 4 (ApplicationVersionRolledBackFrom), which this deployment made (properties of group sessionize differ: session.gap.interval)',
    );
  });

  test('a rolled-back version that differs in nothing compared (e.g. parallelism) still fails', async () => {
    const api = new FakeFlink('UPDATING');
    api.steps.push({ status: 'RUNNING', rolledBackFrom: 4, versionId: 5 });
    await expect(run('Update', api)).rejects.toThrow(
      `${APP} is RUNNING with version 5, not the one this deployment gave it: the service rolled back version 4 (ApplicationVersionRolledBackFrom), which this deployment made. Why`,
    );
  });

  test('ROLLED_BACK with another version than expected fails at once, not after the timeout', async () => {
    const api = new FakeFlink('UPDATING');
    api.steps.push({ status: 'ROLLED_BACK', runs: OLD, rolledBackFrom: 4, versionId: 5 });
    await expect(run('Update', api)).rejects.toThrow(`${APP} is ROLLED_BACK with version 5`);
  });

  test("CloudFormation's own rollback (the previous properties) waits through ROLLED_BACK and completes", async () => {
    // The deployment of version 4 failed (rolled back by the service into version 5, OLD); CloudFormation
    // then updates the application back to OLD (version 6) and sends the previous properties.
    const api = new FakeFlink('ROLLED_BACK');
    api.versionId = 6;
    api.runs = OLD;
    api.rolledBackFrom = 4;
    api.steps.push({ status: 'ROLLED_BACK' }, { status: 'ROLLED_BACK' }, { status: 'RUNNING' });
    const decision = await onEvent(event('Update', OLD), api);
    expect(decision.Data).toEqual({ Action: 'wait', Status: 'ROLLED_BACK', VersionId: 6 });
    expect(await run('Update', api, OLD)).toBe(2);
    expect(api.calls.filter((c) => c.startsWith('start'))).toEqual([]);
  });

  test('an application still updating is waited for until it runs', async () => {
    const api = new FakeFlink('UPDATING');
    const decision = await onEvent(event('Update'), api);
    expect(decision.Data).toEqual({ Action: 'wait', Status: 'UPDATING', VersionId: 4 });
    expect(await isComplete({ ...event('Update'), Data: decision.Data }, api)).toEqual({ IsComplete: false });
    api.state = 'RUNNING';
    expect(await isComplete({ ...event('Update'), Data: decision.Data }, api)).toEqual({ IsComplete: true });
    expect(api.calls.filter((c) => c.startsWith('start'))).toEqual([]);
  });

  test('a stopped application with a snapshot is started from its latest snapshot', async () => {
    const api = new FakeFlink('READY', ['FAILED', 'READY']);
    expect(await run('Update', api)).toBe(2);
    expect(api.calls.slice(0, 3)).toEqual([
      `describe ${APP}`,
      `snapshots ${APP}`,
      `start ${APP} RESTORE_FROM_LATEST_SNAPSHOT`,
    ]);
  });

  test('a stopped application without a usable snapshot is started without one', async () => {
    const api = new FakeFlink('READY', ['CREATING', 'FAILED']);
    const decision = await onEvent(event('Update'), api);
    expect(decision.Data).toEqual({
      Action: 'start',
      Restore: 'SKIP_RESTORE_FROM_SNAPSHOT',
      AllowNonRestoredState: false,
      Status: 'READY',
      VersionId: 4,
    });
  });

  test('Restore skip (telemetry.flink.restore) starts a stopped application without its snapshot', async () => {
    const api = new FakeFlink('READY', ['READY']);
    const decision = await onEvent(
      { ...event('Update'), ResourceProperties: { ...event('Update').ResourceProperties, Restore: 'skip' } },
      api,
    );
    expect(decision.Data.Restore).toBe('SKIP_RESTORE_FROM_SNAPSHOT');
    expect(api.calls).toEqual([`describe ${APP}`, `start ${APP} SKIP_RESTORE_FROM_SNAPSHOT`]);
  });

  test('Restore latest-allow-non-restored starts from the latest snapshot, dropping unmapped state', async () => {
    const api = new FakeFlink('READY', ['READY']);
    const decision = await onEvent(
      {
        ...event('Update'),
        ResourceProperties: { ...event('Update').ResourceProperties, Restore: 'latest-allow-non-restored' },
      },
      api,
    );
    expect(decision.Data).toMatchObject({
      Restore: 'RESTORE_FROM_LATEST_SNAPSHOT',
      AllowNonRestoredState: true,
    });
    expect(api.calls.at(-1)).toBe(`start ${APP} RESTORE_FROM_LATEST_SNAPSHOT allowing non-restored state`);
  });

  test('an unknown Restore fails before anything starts', async () => {
    const api = new FakeFlink('READY', ['READY']);
    await expect(
      onEvent(
        {
          ...event('Update'),
          ResourceProperties: { ...event('Update').ResourceProperties, Restore: 'newest' as 'latest' },
        },
        api,
      ),
    ).rejects.toThrow('Restore must be latest, latest-allow-non-restored or skip, not newest');
    expect(api.calls.filter((c) => c.startsWith('start'))).toEqual([]);
  });
});

describe('delete', () => {
  test('does nothing: CloudFormation deletes (and so stops) the application itself', async () => {
    const api = new FakeFlink('RUNNING');
    expect(await onEvent(event('Delete'), api)).toEqual({
      PhysicalResourceId: APP,
      Data: { Action: 'none' },
    });
    expect(await isComplete({ ...event('Delete'), Data: { Action: 'none' } }, api)).toEqual({
      IsComplete: true,
    });
    expect(api.calls).toEqual([]);
  });
});

test('the application name is required', async () => {
  await expect(
    onEvent({ RequestType: 'Create', ResourceProperties: { ApplicationName: '' } }, new FakeFlink('READY')),
  ).rejects.toThrow('ApplicationName is required');
});
