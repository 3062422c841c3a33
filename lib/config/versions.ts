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
