import {
  CloudFormationValidatePlugin,
  Validations,
  type App,
  type IPolicyValidationContext,
  type PolicyValidationPluginReport,
} from 'aws-cdk-lib';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/**
 * The worker that runs the CDK's built-in CloudFormation validation (see `validateOnWorker`). It is
 * started when this module is loaded, so bin/platform.ts imports this module first: the engine
 * then starts while the rest of the app is still being loaded.
 */
class ValidationWorker {
  /** [0]: 1 when an answer is posted; [1]: the worker's state, 0 not running yet, 1 running, 2 gone. */
  private readonly signal = new Int32Array(new SharedArrayBuffer(8));
  private readonly port: MessagePort;
  private readonly worker: Worker;
  public broken = false;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [], // plain JavaScript: no TypeScript runner in the worker
      workerData: {
        cdkLib: dirname(require.resolve('aws-cdk-lib/package.json')),
        port: port2,
        signal: this.signal,
      },
      transferList: [port2],
    });
    this.worker.unref(); // never keeps the app alive (a config error exits before synth)
    this.worker.on('error', () => {
      this.broken = true;
    });
  }

  /** Sends the templates to the worker and blocks until it answers (validation is synchronous). */
  ask(context: IPolicyValidationContext): WorkerReply | undefined {
    if (this.broken) return undefined;
    Atomics.store(this.signal, 0, 0);
    this.port.postMessage({
      stackTemplates: context.stackTemplates.map((s) => ({ ...s })),
      templatePaths: [...context.templatePaths],
      accountId: context.accountId,
      region: context.region,
    });
    // The main thread is blocked here, so it cannot see the worker's 'error' or 'exit' events: the
    // worker reports its own end in the shared state. Limits are generous (a busy 2-core machine
    // validates every environment in well under a minute); past them, or when the worker is gone,
    // the templates are validated here instead.
    const start = Date.now();
    while (Atomics.load(this.signal, 0) === 0) {
      const state = Atomics.load(this.signal, 1);
      const waited = Date.now() - start;
      if (state === 2 || (state === 0 && waited > 30_000) || waited > 10 * 60_000) {
        this.broken = true;
        void this.worker.terminate();
        return undefined;
      }
      Atomics.wait(this.signal, 0, 0, 1000);
    }
    return receiveMessageOnPort(this.port)?.message as WorkerReply | undefined;
  }
}

/**
 * The CDK's built-in CloudFormation validation, run by the same plugin class on a worker thread
 * that starts with the app. Its engine takes about 2.3 s of CPU to start (the same for any app);
 * on the main thread that start waits until every construct is built and every template written.
 * On a worker it overlaps loading the app, building the constructs and writing the templates, so
 * synth waits only for the templates' own validation. Nothing is skipped or changed: the worker
 * runs `CloudFormationValidatePlugin.validate` on the same templates with the same defaults, and
 * its report goes through the same CDK reporting (errors, acknowledgements, validation-report.json).
 *
 * Registered as a `CloudFormationValidatePlugin`, it takes the place of the default instance (the
 * CDK adds the default only when the app registers none). When the worker cannot be used, it
 * validates on the main thread exactly as the default instance would.
 */
class WorkerCloudFormationValidatePlugin extends CloudFormationValidatePlugin {
  private workerVersion?: string;
  private workerRuleIds?: string[];

  constructor(private readonly worker: ValidationWorker) {
    super();
  }

  // Read before validation too (the stacks' analytics metadata names the registered plugins): from the
  // engine package's manifest, so that the main thread never loads the engine itself.
  override get version(): string | undefined {
    return this.workerVersion ?? (engineVersion() || super.version);
  }

  override get ruleIds(): string[] | undefined {
    return this.workerRuleIds ?? (engineVersion() ? [engineVersion()!] : super.ruleIds);
  }

  override validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const reply = this.worker.ask(context);
    if (!reply) return super.validate(context); // the worker is gone: the same plugin, here
    if (reply.error) {
      const error = new Error(reply.error.message);
      error.stack = reply.error.stack;
      throw error;
    }
    this.workerVersion = reply.version;
    this.workerRuleIds = reply.ruleIds;
    reportsFromWorker += 1;
    return reply.report!;
  }
}

/** How many validation reports came from the worker (not the main-thread fallback) in this process. */
let reportsFromWorker = 0;
export const validationReportsFromWorker = (): number => reportsFromWorker;

let engineVersionCache: string | undefined | null;

/** The version of `@aws/cloudformation-validate` that aws-cdk-lib loads, as its own `version()` reports it. */
function engineVersion(): string | undefined {
  if (engineVersionCache === undefined) {
    try {
      const cdkLib = dirname(require.resolve('aws-cdk-lib/package.json'));
      const manifest = require.resolve('@aws/cloudformation-validate/package.json', { paths: [cdkLib] });
      engineVersionCache =
        (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version ?? null;
    } catch {
      engineVersionCache = null;
    }
  }
  return engineVersionCache ?? undefined;
}

interface WorkerReply {
  readonly report?: PolicyValidationPluginReport;
  readonly version?: string;
  readonly ruleIds?: string[];
  readonly error?: { message: string; stack?: string };
}

/**
 * The worker: loads the plugin, builds its engine before any template exists, then validates what
 * it is sent. The plugin builds its engine on its first `validate`, for the resource types of the
 * templates, because those select the built-in Rego rules (`rules/index.generated.json`: rules
 * for listed resource types, or for all when `types` is null), and builds it again whenever a later
 * call brings a type the engine was not built for. So it is built ahead for "every type that no
 * type-specific built-in rule names": the same configuration the plugin chooses for any template
 * without such a type, and for a template with one the plugin itself builds a new engine. If the
 * plugin's internals are not as expected, the engine is simply built at the first `validate`.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { port, signal, cdkLib } = workerData;
Atomics.store(signal, 1, 1);
const gone = () => {
  Atomics.store(signal, 1, 2);
  Atomics.notify(signal, 0);
};
process.on('uncaughtException', gone);
process.on('exit', gone);
// Output goes straight to the app's stdout/stderr: a worker's streams are relayed by the main
// thread, which is blocked while it waits for the report.
const { writeSync } = require('node:fs');
for (const [stream, fd] of [[process.stdout, 1], [process.stderr, 2]]) {
  stream.write = (chunk, encoding, callback) => {
    writeSync(fd, typeof chunk === 'string' ? chunk : Buffer.from(chunk));
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') done();
    return true;
  };
}
const reply = (message) => {
  port.postMessage(message);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
};
let plugin;
try {
  plugin = new (require(cdkLib).CloudFormationValidatePlugin)();
} catch (e) {
  plugin = undefined;
}
try {
  const index = JSON.parse(readFileSync(join(cdkLib, 'core/lib/validation/rules/index.generated.json'), 'utf8'));
  if (plugin && typeof plugin.initializeEngine === 'function' && Array.isArray(index.rules)) {
    const named = new Set();
    for (const rule of index.rules) {
      if (rule.types !== null && !Array.isArray(rule.types)) throw new Error('unexpected rule index');
      for (const type of rule.types ?? []) named.add(type);
    }
    class AllTypesExceptNamed extends Set {
      has(type) { return !named.has(type); }
    }
    plugin.initializeEngine(new AllTypesExceptNamed());
  }
} catch (e) {
  // Built at the first validate instead.
}
port.on('message', (context) => {
  try {
    if (!plugin) throw new Error('CloudFormationValidatePlugin could not be loaded in the validation worker');
    reply({ report: plugin.validate(context), version: plugin.version, ruleIds: plugin.ruleIds });
  } catch (e) {
    reply({ error: { message: String(e && e.message || e), stack: e && e.stack } });
  }
});
`;

/** Started on load, unless the built-in validation is turned off for this run. */
const worker = process.env.CDK_VALIDATION === 'false' ? undefined : new ValidationWorker();

/**
 * Registers the worker-backed validation on the app when the CDK would run its built-in validation
 * (it is on unless `CDK_VALIDATION=false`; this app does not turn it off with
 * `builtinCloudFormationValidation: false`). Import this module before the rest of the app and call
 * this right after creating the App.
 */
export function validateOnWorker(app: App): void {
  if (worker) Validations.of(app).addPlugins(new WorkerCloudFormationValidatePlugin(worker));
}
