import { TOPIC_IDS } from '../../lib/topics/topic-specs';
import { ENVIRONMENTS, synthEnvironment } from '../support/synth';
import { withSnowflake } from '../support/warehouse';

/** Snapshots are extra: each sits beside specific assertions. Asset hashes are masked. */
describe.each(ENVIRONMENTS)('%s templates', (envName) => {
  const { network, streaming, sources, events, telemetry } = synthEnvironment(envName);

  test('network stack', () => {
    network.resourceCountIs('AWS::EC2::VPC', 1);
    expect(network.toJSON()).toMatchSnapshot();
  });

  test('streaming stack', () => {
    streaming.resourceCountIs('AWS::MSK::Topic', TOPIC_IDS.length);
    streaming.resourceCountIs('AWS::MSK::Cluster', 1);
    expect(streaming.toJSON()).toMatchSnapshot();
  });

  test('sources stack', () => {
    sources.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    expect(sources.toJSON()).toMatchSnapshot();
  });

  test('events stack', () => {
    // enrich reads two topics, aggregate one: one mapping per topic (test/unit/events.test.ts).
    events.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    events.resourceCountIs('AWS::OpenSearchService::Domain', 1);
    expect(events.toJSON()).toMatchSnapshot();
  });

  test('telemetry stack', () => {
    // One Managed Flink application and its start resource; alerting reads one topic.
    telemetry.resourceCountIs('AWS::KinesisAnalyticsV2::Application', 1);
    telemetry.hasResourceProperties('AWS::KinesisAnalyticsV2::Application', {
      RuntimeEnvironment: 'FLINK-2_2',
    });
    telemetry.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    telemetry.resourceCountIs('AWS::Glue::Table', 1);
    expect(telemetry.toJSON()).toMatchSnapshot();
  });
});

/** The warehouse stack exists only with a Snowflake account: the test account of support/warehouse.ts. */
test('dev warehouse stack (test account)', () => {
  const { warehouse } = synthEnvironment('dev', withSnowflake('dev'));
  // test/unit/warehouse.test.ts asserts the connector, plugin, role and egress by hand.
  warehouse!.resourceCountIs('Custom::MskConnectConnector', 1);
  warehouse!.resourceCountIs('AWS::KafkaConnect::CustomPlugin', 1);
  expect(warehouse!.toJSON()).toMatchSnapshot();
});
