import { Annotations, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { ConsumerStateTable } from '../events/consumer-state-table';
import { MskConsumer } from '../events/msk-consumer';
import { SearchDomain } from '../events/search-domain';
import { ORDERS_BY_USER_INDEX } from '../../lambda/shared/consumer/state-table';
import type { PlatformNetwork } from '../network/platform-network';
import type { StreamingStack } from './streaming-stack';

export interface EventsStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly network: PlatformNetwork;
  readonly streaming: StreamingStack;
}

/** The events path (docs/events-path.md): the enrich and aggregate consumers, their state, the search domain. */
export class EventsStack extends Stack {
  public readonly enrichTable: ConsumerStateTable;
  public readonly aggregateTable: ConsumerStateTable;
  public readonly enrich: MskConsumer;
  public readonly aggregate: MskConsumer;
  public readonly search: SearchDomain;

  constructor(scope: Construct, id: string, props: EventsStackProps) {
    super(scope, id, props);
    const { config, network, streaming } = props;
    const { catalog, cluster } = streaming;
    // Referenced, not owned (as in the sources stack): grants go to the principals' policies here.
    const key = kms.Key.fromKeyArn(this, 'PlatformKey', streaming.key.key.keyArn);
    const common = {
      config,
      catalog,
      cluster,
      bootstrapBrokers: streaming.bootstrapBrokers.iam,
      key,
      vpc: network.vpc,
    };

    this.enrichTable = new ConsumerStateTable(this, 'EnrichState', { config, key, ordersByUser: true });
    this.enrich = new MskConsumer(this, 'Enrich', {
      ...common,
      consumer: 'enrich',
      description: `Enriches ${catalog.name('eventsUser')} with the order state of ${catalog.name('cdcOrders')} into ${catalog.name('eventsEnriched')}`,
      deadLetterTopic: 'dlqEnrich',
      produces: ['eventsEnriched'],
      table: this.enrichTable,
      tableActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      queryIndexes: [ORDERS_BY_USER_INDEX.name],
      securityGroup: network.securityGroup('enrich'),
      environment: {
        EVENTS_TOPIC: catalog.name('eventsUser'),
        ORDERS_TOPIC: catalog.name('cdcOrders'),
        ENRICHED_TOPIC: catalog.name('eventsEnriched'),
      },
    });

    this.aggregateTable = new ConsumerStateTable(this, 'AggregateState', { config, key });
    this.aggregate = new MskConsumer(this, 'Aggregate', {
      ...common,
      consumer: 'aggregate',
      description: `Windows ${catalog.name('eventsEnriched')} into OpenSearch and ${catalog.name('eventsAggregates')}`,
      deadLetterTopic: 'dlqAggregate',
      produces: ['eventsAggregates'],
      table: this.aggregateTable,
      tableActions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      securityGroup: network.securityGroup('aggregate'),
      environment: {
        ENRICHED_TOPIC: catalog.name('eventsEnriched'),
        AGGREGATES_TOPIC: catalog.name('eventsAggregates'),
        WINDOWS: config.events.windows.join(','),
        DIMENSIONS: config.events.dimensions.join(','),
        ALLOWED_LATENESS_SECONDS: String(config.events.allowedLatenessSeconds),
        OPENSEARCH_AUTH: 'iam',
      },
    });

    this.search = new SearchDomain(this, 'Search', {
      config,
      vpc: network.vpc,
      securityGroup: network.searchSecurityGroup,
      // The owned key, not the imported one: the domain names its key by id, and an imported key's id
      // is split out of the ARN, which cannot be done to a cross-stack reference (cfn-lint E1017).
      // Nothing here grants on it through the key policy, so no reference runs back to the streaming stack.
      key: streaming.key.key,
      writerRoles: [this.aggregate.function.role],
    });
    this.aggregate.function.fn.addEnvironment('OPENSEARCH_ENDPOINT', this.search.endpoint);
    this.aggregate.function.fn.addEnvironment('OPENSEARCH_INDEX_PREFIX', this.search.indexPrefix);

    if (config.removeDataOnDestroy) {
      Annotations.of(this).addWarning(
        `${config.envName}: removeDataOnDestroy is true, so the consumers' state tables, the search domain and log groups are destroyed with this stack.`,
      );
    }
  }
}
