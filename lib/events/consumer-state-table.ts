import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/platform-config';
import { ORDERS_BY_USER_INDEX, STATE_TABLE } from '../../lambda/shared/consumer/state-table';

export interface ConsumerStateTableProps {
  readonly config: EnvironmentConfig;
  /** The platform key (SSE with a customer-managed key). */
  readonly key: kms.IKey;
  /**
   * Adds the sparse index of order items by user (the enrich table).
   * @default false
   */
  readonly ordersByUser?: boolean;
}

/**
 * One MSK consumer's state table (lambda/shared/consumer/state-table.ts): on demand, point-in-time
 * recovery, SSE with the platform key, TTL on `expiresAt`, retained unless the environment removes
 * data on destroy. No physical name, so that a replacement is possible.
 */
export class ConsumerStateTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ConsumerStateTableProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: STATE_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: STATE_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.key,
      timeToLiveAttribute: STATE_TABLE.ttlAttribute,
      removalPolicy: props.config.removeDataOnDestroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    if (props.ordersByUser) {
      this.table.addGlobalSecondaryIndex({
        indexName: ORDERS_BY_USER_INDEX.name,
        partitionKey: { name: ORDERS_BY_USER_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: ORDERS_BY_USER_INDEX.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
  }

  /** The ARN of an index of the table, for `dynamodb:Query`. */
  public indexArn(indexName: string): string {
    return `${this.table.tableArn}/index/${indexName}`;
  }
}
