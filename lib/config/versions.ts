/**
 * Engine versions, pinned in one place. The local engines under test/engines run the same
 * version lines (their pom.xml files carry the exact patch releases; a unit test keeps them in step).
 */

/** The MSK cluster's Kafka version: 3.9.x in KRaft mode (MSK offers KRaft from 3.7.x). */
export const MSK_KAFKA_VERSION = '3.9.x.kraft';

/** The Apache Kafka release the local broker runs: same 3.9 line as {@link MSK_KAFKA_VERSION}. */
export const LOCAL_KAFKA_VERSION = '3.9.2';

/** The Kafka version line, as both sides spell it. */
export const KAFKA_VERSION_LINE = '3.9';

/**
 * The OpenSearch Service domain's engine: the newest 3.x line that both the service (aws-cdk-lib
 * 2.276 offers 3.1, 3.3, 3.5 and 3.7) and Maven Central here can run (the 3.7.0 module
 * `transport-netty4-client` is not served). 3.x needs Java 21+: the local node runs on Temurin 25.
 */
export const OPENSEARCH_ENGINE_VERSION = 'OpenSearch_3.5';

/** The OpenSearch release the local node runs: same 3.5 line as {@link OPENSEARCH_ENGINE_VERSION}. */
export const LOCAL_OPENSEARCH_VERSION = '3.5.0';
