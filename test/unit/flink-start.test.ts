/**
 * The start custom resource's decisions (lambda/flink-start) against a fake Managed Flink: the
 * AWS control plane cannot run here (no endpoint is reachable, and Managed Flink has no local
 * edition), so the fake behaves as the API documents it (StartApplication only from READY, the
 * application STARTING for a few describes, then RUNNING) and records every call.
 */
import type { ApplicationStatus, FlinkApi, RestoreType } from '../../lambda/flink-start/flink-api';
import { isComplete, onEvent, type StartEvent } from '../../lambda/flink-start/start';

const APP = 'streaming-dev-sessionize';

class FakeFlink implements FlinkApi {
  readonly calls: string[] = [];
  private polls = 0;
  constructor(
    public state: ApplicationStatus,
    private readonly snapshots: ('READY' | 'CREATING' | 'FAILED')[] = [],
    /** Where a start ends: RUNNING, or READY again when the job fails to start. */
    private readonly startsInto: ApplicationStatus = 'RUNNING',
    private readonly pollsToRun = 2,
  ) {}

  status(name: string): Promise<ApplicationStatus> {
    this.calls.push(`describe ${name}`);
    if (this.state === 'STARTING' && ++this.polls >= this.pollsToRun) this.state = this.startsInto;
    return Promise.resolve(this.state);
  }

  hasReadySnapshot(name: string): Promise<boolean> {
    this.calls.push(`snapshots ${name}`);
    return Promise.resolve(this.snapshots.includes('READY'));
  }

  start(name: string, restore: RestoreType): Promise<void> {
    this.calls.push(`start ${name} ${restore}`);
    if (this.state !== 'READY') throw new Error(`ResourceInUseException: ${name} is ${this.state}`);
    this.state = 'STARTING';
    this.polls = 0;
    return Promise.resolve();
  }
}

const event = (RequestType: StartEvent['RequestType']): StartEvent => ({
  RequestType,
  ...(RequestType === 'Create' ? {} : { PhysicalResourceId: APP }),
  ResourceProperties: { ApplicationName: APP, Revision: 'r1' },
});

/** Runs onEvent, then isComplete until it completes (or throws), as the Provider framework does. */
async function run(type: StartEvent['RequestType'], api: FakeFlink): Promise<number> {
  const started = await onEvent(event(type), api);
  expect(started.PhysicalResourceId).toBe(APP);
  for (let polls = 1; polls <= 10; polls++) {
    if ((await isComplete({ ...event(type), Data: started.Data }, api)).IsComplete) return polls;
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
      Data: { Action: 'wait', Status: 'RUNNING' },
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

  test('an application still updating is waited for until it runs', async () => {
    const api = new FakeFlink('UPDATING');
    const decision = await onEvent(event('Update'), api);
    expect(decision.Data).toEqual({ Action: 'wait', Status: 'UPDATING' });
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
      Status: 'READY',
    });
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
