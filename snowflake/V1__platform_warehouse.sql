-- =====================================================================================================
-- V1__platform_warehouse.sql: the Snowflake side of the warehouse leg (docs/warehouse.md).
--
-- What it sets up, once per Snowflake account (every statement is idempotent: run it again after a
-- change of this file and it converges):
--   * the connector's role and its key-pair service user (the Snowflake Kafka connector 2.5.0 on
--     MSK Connect logs in as this user, with this role);
--   * the database, the schema and the table EVENTS_AGGREGATES the connector lands the Kafka topic
--     events.aggregates in: the connector's two VARIANT columns RECORD_METADATA and RECORD_CONTENT
--     (snowflake.enable.schematization=false), created here, up front, so that the connector never
--     needs to create or alter a table;
--   * two views over it for analysts: EVENTS_AGGREGATES_LATEST (one row per windowKey, the highest
--     version) and EVENTS_AGGREGATES_REVENUE (one row per windowKey and currency);
--   * an analyst role that may read the views, never the raw table, and a small warehouse for it.
--
-- Run it as a user who holds SECURITYADMIN and SYSADMIN (ACCOUNTADMIN holds both):
--   snowsql -a <account identifier> -u <admin user> -f snowflake/V1__platform_warehouse.sql
-- or paste it into a Snowsight worksheet and "Run All". Set the names below first; the database,
-- schema, role and user must be the ones of environments.<env>.warehouse.snowflake in cdk.json.
-- The file name is Flyway's versioned form (V<version>__<description>.sql): a later change is a
-- new V2__... file, this one stays as it ran.
--
-- The key pair (before the first run):
--   openssl genrsa 2048 | openssl pkcs8 -topk8 -v2 aes256 -out rsa_key.p8   # asks for a passphrase
--   openssl rsa -in rsa_key.p8 -pubout -out rsa_key.pub                       # asks for it again
--   grep -v -- '-----' rsa_key.pub | tr -d '\n'     # the public key body to paste into CREATE USER
-- The encrypted private key and its passphrase go into a Secrets Manager secret, as JSON with the
-- keys privateKey and passphrase (lib/warehouse/snowflake-config.ts, SNOWFLAKE_SECRET_KEYS):
--   aws secretsmanager create-secret --name <secret name> \
--     --secret-string "$(jq -n --rawfile privateKey rsa_key.p8 --arg passphrase "$PASSPHRASE" \
--       '{privateKey: $privateKey, passphrase: $passphrase}')"
-- and its ARN into cdk.json (privateKeySecretArn). Then delete rsa_key.p8 from the machine. The
-- private key and the passphrase never go into this file, into cdk.json or into the repository;
-- this file only ever holds the PUBLIC key, which is no secret.
--
-- Privileges of the connector's role, and why (checked against the docs and the connector's source):
--   * USAGE on the database and on the schema: always needed.
--     https://docs.snowflake.com/en/connectors/kafkahp/setup-snowflake (table "Required privileges")
--     https://docs.snowflake.com/user-guide/snowpipe-streaming/snowpipe-streaming-access-control
--   * INSERT on the table: what Snowpipe Streaming needs to write rows ("Table: INSERT. When schema
--     evolution is enabled, the role also requires EVOLVE SCHEMA or OWNERSHIP", access-control page
--     above). Schematization is off here, so no EVOLVE SCHEMA and no OWNERSHIP.
--   * SELECT on the table: 2.5.0 runs DESC TABLE on the table whenever a partition is assigned, to
--     check that it has RECORD_METADATA and RECORD_CONTENT as VARIANT (SnowflakeSinkServiceV2.
--     createTableIfNotExists, SnowflakeConnectionServiceV1.isTableCompatible in the connector's
--     source at v2.5.0); with schematization off it issues no ALTER and reads no rows. The docs
--     pages found do not say which privilege DESC TABLE needs, so SELECT makes sure the table is
--     visible to it: a table the role cannot see counts as missing, and the connector would then
--     try to create it and fail.
--   * NOT granted: OWNERSHIP of the table and CREATE TABLE / CREATE STAGE / CREATE PIPE on the
--     schema. The older 2.x install page asks for them
--     (https://docs.snowflake.com/user-guide/kafka-connector-install, "Table: OWNERSHIP, only
--     required when using the Kafka connector to ingest data into an existing table"), but that
--     table is written for Snowpipe (files, stages, pipes). With SNOWPIPE_STREAMING and
--     schematization off, 2.5.0 creates a table only when it finds none, and this script creates it.
--   * No warehouse: Snowpipe Streaming is serverless and none of the pages lists one.
--   * 2.5.0 also calls SYSTEM$SNOWPIPE_STREAMING_MIGRATE_CHANNEL_OFFSET_TOKEN when it opens a channel
--     (enable.streaming.channel.offset.migration, on by default in 2.5.0). Its privileges are not
--     documented in the pages found; its sibling SYSTEM$SNOWPIPE_STREAMING_UPDATE_CHANNEL_OFFSET_TOKEN
--     needs INSERT on the table, which the role has.
-- Snowflake applies only the privileges granted directly to the connector's role, not ones it
-- would inherit from other roles (setup-snowflake page above): hence the direct grants below.
-- =====================================================================================================

-- ---- Names: change these, nothing else --------------------------------------------------------------
SET platform_database = 'PLATFORM';
SET platform_schema = 'STREAMING';
SET connector_role = 'KAFKA_CONNECTOR_ROLE';
SET connector_user = 'KAFKA_CONNECTOR';
SET analyst_role = 'PLATFORM_ANALYST';
SET analyst_warehouse = 'PLATFORM_ANALYST_WH';
SET platform_schema_path = $platform_database || '.' || $platform_schema;

-- ---- Roles and the connector's user ----------------------------------------------------------------
USE ROLE SECURITYADMIN;

CREATE ROLE IF NOT EXISTS IDENTIFIER($connector_role)
  COMMENT = 'Snowflake Kafka connector (MSK Connect): writes events.aggregates into EVENTS_AGGREGATES';
CREATE ROLE IF NOT EXISTS IDENTIFIER($analyst_role)
  COMMENT = 'Reads the views over EVENTS_AGGREGATES, never the raw table';
-- Custom roles under SYSADMIN, as Snowflake recommends, so that administrators can manage them.
GRANT ROLE IDENTIFIER($connector_role) TO ROLE SYSADMIN;
GRANT ROLE IDENTIFIER($analyst_role) TO ROLE SYSADMIN;

-- A service user: it logs in with its key pair only (a SERVICE user has no interactive login and
-- cannot be given one). Paste the public key body (see the header) before the first run; an
-- existing user is left as it is, keys included (rotation: docs/warehouse.md).
CREATE USER IF NOT EXISTS IDENTIFIER($connector_user)
  TYPE = SERVICE
  DEFAULT_ROLE = $connector_role
  RSA_PUBLIC_KEY = 'REPLACE_WITH_THE_PUBLIC_KEY_BODY_OF_rsa_key.pub'
  COMMENT = 'Snowflake Kafka connector on MSK Connect (key-pair authentication)';
GRANT ROLE IDENTIFIER($connector_role) TO USER IDENTIFIER($connector_user);

-- ---- Database, schema, table, views ----------------------------------------------------------------
USE ROLE SYSADMIN;

CREATE DATABASE IF NOT EXISTS IDENTIFIER($platform_database);
CREATE SCHEMA IF NOT EXISTS IDENTIFIER($platform_schema_path);
USE SCHEMA IDENTIFIER($platform_schema_path);

-- The connector's table (SNOWFLAKE_AGGREGATES_TABLE in lib/warehouse/snowflake-config.ts): exactly
-- the two VARIANT columns the connector writes with schematization off. Append-only: every record
-- of the topic lands as a row, so a windowKey has as many rows as versions were produced (and a
-- redelivered record may land twice); the views below pick the newest.
CREATE TABLE IF NOT EXISTS EVENTS_AGGREGATES (
  RECORD_METADATA VARIANT,
  RECORD_CONTENT VARIANT
)
COMMENT = 'events.aggregates as landed by the Snowflake Kafka connector (append-only)';

-- The newest aggregate per window: the contract's events.aggregates record with typed columns, one
-- row per windowKey, the one with the highest version (a higher version supersedes a lower one,
-- whatever order they arrived in). Ties (the same version landed twice) take the later offset.
CREATE OR REPLACE VIEW EVENTS_AGGREGATES_LATEST COPY GRANTS
  COMMENT = 'One row per windowKey: the highest version landed'
AS
SELECT
  RECORD_CONTENT:windowKey::STRING AS windowKey,
  RECORD_CONTENT:windowSize::STRING AS windowSize,
  TRY_TO_TIMESTAMP_TZ(RECORD_CONTENT:windowStart::STRING) AS windowStart,
  TRY_TO_TIMESTAMP_TZ(RECORD_CONTENT:windowEnd::STRING) AS windowEnd,
  RECORD_CONTENT:dimension::STRING AS dimension,
  RECORD_CONTENT:value::STRING AS value,
  RECORD_CONTENT:events::NUMBER AS events,
  RECORD_CONTENT:users::NUMBER AS users,
  RECORD_CONTENT:revenueCents AS revenueCents,
  TRY_TO_TIMESTAMP_TZ(RECORD_CONTENT:updatedAt::STRING) AS updatedAt,
  RECORD_CONTENT:version::NUMBER AS version,
  RECORD_METADATA:partition::NUMBER AS kafkaPartition,
  RECORD_METADATA:offset::NUMBER AS kafkaOffset
FROM EVENTS_AGGREGATES
WHERE RECORD_CONTENT:windowKey IS NOT NULL
QUALIFY ROW_NUMBER() OVER (PARTITION BY windowKey ORDER BY version DESC, kafkaOffset DESC) = 1;

-- Revenue of the newest aggregates, one row per (windowKey, currency): revenueCents is an object
-- ISO-4217 currency -> integer minor units, never summed across currencies. A window without
-- revenue (an empty object) has no row here.
CREATE OR REPLACE VIEW EVENTS_AGGREGATES_REVENUE COPY GRANTS
  COMMENT = 'One row per windowKey and currency, from EVENTS_AGGREGATES_LATEST'
AS
SELECT
  latest.windowKey,
  latest.windowSize,
  latest.windowStart,
  latest.windowEnd,
  latest.dimension,
  latest.value,
  latest.version,
  revenue.key::STRING AS currency,
  revenue.value::NUMBER AS amount_minor_units
FROM EVENTS_AGGREGATES_LATEST AS latest,
  LATERAL FLATTEN(INPUT => latest.revenueCents) AS revenue;

-- ---- Grants ----------------------------------------------------------------------------------------
-- The connector: see the header for each privilege.
GRANT USAGE ON DATABASE IDENTIFIER($platform_database) TO ROLE IDENTIFIER($connector_role);
GRANT USAGE ON SCHEMA IDENTIFIER($platform_schema_path) TO ROLE IDENTIFIER($connector_role);
GRANT INSERT, SELECT ON TABLE EVENTS_AGGREGATES TO ROLE IDENTIFIER($connector_role);

-- Analysts: the views only. The views read the table with their owner's (SYSADMIN's) rights, so
-- the analyst role needs, and gets, nothing on EVENTS_AGGREGATES itself.
CREATE WAREHOUSE IF NOT EXISTS IDENTIFIER($analyst_warehouse)
  WAREHOUSE_SIZE = XSMALL
  AUTO_SUSPEND = 60
  AUTO_RESUME = TRUE
  INITIALLY_SUSPENDED = TRUE
  COMMENT = 'Queries of the platform analysts';
GRANT USAGE ON WAREHOUSE IDENTIFIER($analyst_warehouse) TO ROLE IDENTIFIER($analyst_role);
GRANT USAGE ON DATABASE IDENTIFIER($platform_database) TO ROLE IDENTIFIER($analyst_role);
GRANT USAGE ON SCHEMA IDENTIFIER($platform_schema_path) TO ROLE IDENTIFIER($analyst_role);
GRANT SELECT ON VIEW EVENTS_AGGREGATES_LATEST TO ROLE IDENTIFIER($analyst_role);
GRANT SELECT ON VIEW EVENTS_AGGREGATES_REVENUE TO ROLE IDENTIFIER($analyst_role);
-- Give analysts the role with: GRANT ROLE <analyst role> TO USER <analyst>; (as SECURITYADMIN).
