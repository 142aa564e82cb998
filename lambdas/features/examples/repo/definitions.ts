import {
  entity,
  featureService,
  featureView,
  fileSource,
  onDemandFeatureView,
} from '../../definitions/define';

/**
 * Example feature repo: users with purchases. Used by the docs and, later, by the pipeline.
 * Load it with `mlops features plan --repo lambdas/features/examples/repo`.
 */
export const user = entity({ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] });

export const purchasesSource = fileSource({
  name: 'purchases',
  format: 'csv',
  path: 'data/purchases.csv',
  columns: [
    { name: 'user_id', type: 'int64', nullable: false },
    { name: 'ts', type: 'timestamp', nullable: false },
    { name: 'amount', type: 'float64', nullable: false, min: 0, max: 100_000 },
    { name: 'channel', type: 'string', allowed: ['web', 'app', 'store'] },
  ],
  expectations: [
    { metric: 'rowCount', min: 1 },
    { column: 'amount', metric: 'mean', min: 1, max: 10_000 },
  ],
});

export const purchases = featureView({
  name: 'purchases',
  entities: ['user'],
  source: 'purchases',
  timestampField: 'ts',
  ttl: '30d',
  features: [
    { name: 'amount', type: 'float64', description: 'Amount of the latest purchase' },
    { name: 'channel', type: 'string' },
  ],
  aggregations: [
    { name: 'purchase_count_30d', function: 'count', window: '30d' },
    { name: 'purchase_amount_sum_7d', function: 'sum', column: 'amount', window: '7d' },
  ],
});

export const cartRatio = onDemandFeatureView({
  name: 'cart',
  request: [{ name: 'cart_total', type: 'float64' }],
  features: ['purchases:amount'],
  schema: [{ name: 'cart_to_last_purchase', type: 'float64' }],
  transform: (row) => ({
    cart_to_last_purchase:
      typeof row['cart_total'] === 'number' && typeof row['amount'] === 'number' && row['amount'] > 0
        ? row['cart_total'] / row['amount']
        : null,
  }),
});

export const fraudV1 = featureService({
  name: 'fraud_v1',
  features: ['purchases:amount', 'purchases:purchase_count_30d', 'purchases:purchase_amount_sum_7d', 'cart'],
});
