/**
 * The platform's operations CLI (docs/ops-cli.md):
 *
 *   npm run ops -- status -c env=<env> [--bootstrap host:port] [--region <r>]
 *   npm run ops -- topics diff -c env=<env> [--bootstrap host:port] [--region <r>]
 *   npm run ops -- dlq replay <consumer> -c env=<env> [--rate <records/s>] [--max <n>] [--dry-run] [--bootstrap host:port] [--region <r>]
 *
 * `runOps` is the whole program with its outside world injected (AWS, output, clock), so that the
 * engine test runs it in-process against the local broker; the bottom of this file runs it.
 */
import type { Kafka } from 'kafkajs';
import { ConfigError } from '../../lib/config/errors';
import type { EnvironmentConfig } from '../../lib/config/platform-config';
import { SdkOpsAws, type ClusterInfo, type OpsAws } from './aws';
import {
  DEAD_LETTER_OWNERS,
  DEFAULT_REPLAY_RATE,
  OPS_COMMANDS,
  parseOpsArgs,
  UsageError,
  type OpsCommandSpec,
} from './commands';
import { cdkJsonContext, loadOpsEnvironment, resourceNames } from './environment';
import { opsKafka, type KafkaTarget } from './kafka';
import { deadLetterRoute, replayDeadLetters, replayGroupId } from './replay';
import { consumerRows, renderStatus } from './status';
import type { Clock } from './token-bucket';
import { catalogTopics, diffTopics, readLiveTopics, renderTopicsDiff } from './topics-diff';

export const EXIT = { ok: 0, drift: 1, error: 2 } as const;

export interface OpsDeps {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** The AWS side for a region. @default the SDK v3 clients ({@link SdkOpsAws}) */
  readonly aws?: (region: string) => OpsAws;
  /** cdk.json's context. @default read from the repository's cdk.json */
  readonly context?: Readonly<Record<string, unknown>>;
  /** The environment variables read for a region. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly clock?: Clock;
  /** See ReplayOptions.beforeCommit (the engine test's interruption). */
  readonly beforeCommit?: (handled: number) => void | Promise<void>;
}

const DLQ_ROUTES = DEAD_LETTER_OWNERS.map((o) => {
  const r = deadLetterRoute(o);
  return `      ${o.padEnd(15)} ${r.topic} -> ${r.sources.join(', ')}`;
}).join('\n');

const HELP: Record<string, string> = {
  status: `Shows the cluster (state, Kafka version, brokers, IAM and SCRAM bootstrap strings), every event
source mapping of the environment with its state and its lag per topic (end offsets minus the
consumer group's committed offsets, read on the brokers), the MSK Connect connectors (state,
workers) and the Managed Flink application (status, version). Exit 0, or 2 on an error.`,
  'topics diff': `Compares the live topics (partitions, replication factor, configs) with the catalog of the
environment as the CDK app resolves it (cdk.json context and -c overrides, e.g.
-c topics.events.user.partitions=12). Exit 0 without drift, 1 on drift, 2 on an error.
Drift: a catalog topic missing, its partitions or replication factor differ, a catalog config
differs from the live value, or a config is set on the live topic that the catalog does not set.
Topics that are not in the catalog are listed but are NOT drift: the catalog retains removed topics
by design (README, "Removing, renaming or deleting a topic") and other teams may own topics.
Kafka's and MSK's internal topics (__*) and Kafka Connect's (connect-*) are ignored.`,
  'dlq replay': `Reads the consumer's dead-letter topic and sends each record back to its source topic: original
key, value bytes and headers, without the dead-letter headers (dlq.*, __connect.errors.*). Reads
the three shapes (dlq.* headers, Lambda's on-failure JSON, Kafka Connect's __connect.errors.*
headers). A record whose source is not one of the dead-letter topic's sources in the catalog is
refused: reported, nothing written for it.
<consumer>:
${DLQ_ROUTES}
--rate    records per second on average (token bucket, bursts of one second's worth); default ${DEFAULT_REPLAY_RATE}
--max     handle at most this many dead-letter records in this run, then stop (resume later)
--dry-run print what would be sent; send nothing, commit nothing
Delivery: AT LEAST ONCE. Progress is committed in the consumer group ops-replay-<dead-letter topic>
only after the broker acknowledged what was sent; a run stopped between a send and its commit
resends those records when run again, byte for byte, and every consumer drops such a repeat by its
dedupe key (eventId, the order's lsn, (deviceId, ts), alertId, windowKey + version). Not
transactions: the consumers of the source topics (Lambda event source mappings, Flink, Kafka
Connect) are at-least-once readers already, so exactly-once writes would buy nothing there.
A run replays what the topic held when it started. Exit 0 when everything was replayed, 1 when some
records were refused or unrecognised (listed; passed over), 2 on an error (nothing after the last
committed offset is lost: run the same command again).`,
};

function usageText(spec?: OpsCommandSpec): string {
  const specs = spec ? [spec] : OPS_COMMANDS;
  const parts = specs.map((s) => `${s.usage}\n\n${HELP[s.command] ?? ''}`);
  const common = `Common flags:
  -c key=value        context, as for cdk (-c env=<env> is required; -c topics.<topic>.<setting>=<v>)
  --bootstrap h:p     a plaintext broker (local engines, tests) instead of the cluster's IAM listener
  --region r          the AWS region (default: environments.<env>.region, then AWS_REGION); with
                      --bootstrap and no region, AWS is not asked
  --help              this text`;
  return [...parts, common].join('\n\n');
}

/** Where the Kafka side is and, when AWS is asked, the cluster. */
async function connect(
  config: EnvironmentConfig,
  args: { bootstrap?: string; region?: string },
  deps: OpsDeps,
): Promise<{ region?: string; aws?: OpsAws; cluster?: ClusterInfo; target: KafkaTarget; kafka: Kafka }> {
  const env = deps.env ?? process.env;
  const region = args.region ?? config.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region && !args.bootstrap)
    throw new UsageError(
      `no AWS region: pass --region, set environments.${config.envName}.region in cdk.json or AWS_REGION`,
    );
  const aws = region ? (deps.aws ?? ((r: string) => new SdkOpsAws({ region: r })))(region) : undefined;
  let cluster: ClusterInfo | undefined;
  if (aws) {
    const { clusterName } = resourceNames(config);
    cluster = await aws.describeCluster(clusterName);
    if (!cluster) throw new Error(`no MSK cluster named ${clusterName} in ${region}`);
  }
  let target: KafkaTarget;
  if (args.bootstrap) target = { kind: 'plaintext', brokers: args.bootstrap };
  else if (cluster?.bootstrapIam && region) target = { kind: 'iam', brokers: cluster.bootstrapIam, region };
  else
    throw new Error(
      `cluster ${cluster?.name ?? '?'} (${cluster?.state ?? '?'}) has no IAM bootstrap brokers`,
    );
  return {
    ...(region ? { region } : {}),
    ...(aws ? { aws } : {}),
    ...(cluster ? { cluster } : {}),
    target,
    kafka: opsKafka(target, `ops-${config.envName}`),
  };
}

function describeTarget(target: KafkaTarget): string {
  return target.kind === 'plaintext'
    ? `${target.brokers} (plaintext, --bootstrap)`
    : `${target.brokers} (IAM, ${target.region})`;
}

/** Runs one command line; resolves to the exit code. */
export async function runOps(argv: readonly string[], deps: OpsDeps): Promise<number> {
  let args;
  try {
    args = parseOpsArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      deps.err(`error: ${e.message}`);
      deps.err(`run "npm run ops -- --help" for usage`);
      return EXIT.error;
    }
    throw e;
  }
  if (args.kind === 'help') {
    deps.out(usageText(args.command));
    return EXIT.ok;
  }
  try {
    const config = loadOpsEnvironment(args.context, deps.context ?? cdkJsonContext());
    const conn = await connect(config, args, deps);
    if (args.kind === 'topics diff') {
      const admin = conn.kafka.admin();
      await admin.connect();
      try {
        const diff = diffTopics(catalogTopics(config), await readLiveTopics(admin));
        for (const line of renderTopicsDiff(config.envName, diff)) deps.out(line);
        return diff.drifted.length === 0 ? EXIT.ok : EXIT.drift;
      } finally {
        await admin.disconnect();
      }
    }
    if (args.kind === 'status') {
      const admin = conn.kafka.admin();
      await admin.connect();
      try {
        const { resourcePrefix } = resourceNames(config);
        const mappings =
          conn.aws && conn.cluster ? await conn.aws.listEventSourceMappings(conn.cluster.arn) : undefined;
        const consumers = await consumerRows(admin, mappings);
        const awsPart =
          conn.aws && conn.cluster
            ? {
                cluster: conn.cluster,
                connectors: await conn.aws.listConnectors(resourcePrefix),
                flink: await conn.aws.listFlinkApplications(resourcePrefix),
              }
            : undefined;
        const lines = renderStatus({
          envName: config.envName,
          platformName: config.platformName,
          ...(conn.region ? { region: conn.region } : {}),
          ...(awsPart ? { aws: awsPart } : {}),
          kafka: describeTarget(conn.target),
          consumers,
        });
        for (const line of lines) deps.out(line);
        return EXIT.ok;
      } finally {
        await admin.disconnect();
      }
    }
    const result = await replayDeadLetters({
      kafka: conn.kafka,
      consumer: args.consumer,
      rate: args.rate,
      ...(args.max !== undefined ? { max: args.max } : {}),
      dryRun: args.dryRun,
      out: deps.out,
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.beforeCommit ? { beforeCommit: deps.beforeCommit } : {}),
    });
    return result.refused + result.unrecognised > 0 ? EXIT.drift : EXIT.ok;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof UsageError) deps.err(`error: ${e.message}`);
    else deps.err(`error: ${e instanceof Error ? e.message : String(e)}`);
    if (args.kind === 'dlq replay')
      deps.err(
        `progress is committed in ${replayGroupId(deadLetterRoute(args.consumer).topic)}; run the same command again to resume`,
      );
    return EXIT.error;
  }
}

if (require.main === module) {
  runOps(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(EXIT.error);
    },
  );
}
