import { featureService, onDemandFeatureView } from '../../../lambdas/features/definitions/define';

/**
 * The latest basket against the user's 30-day average basket, computed when read (offline
 * in training sets, online at request time) from two stored features.
 */
export const basket = onDemandFeatureView({
  name: 'basket',
  features: ['purchases:amount', 'purchases:amount_sum_30d', 'purchases:purchase_count_30d'],
  schema: [{ name: 'basket_vs_30d_average', type: 'float64' }],
  transform: (row) => {
    const amount = row['amount'];
    const sum = row['amount_sum_30d'];
    const count = row['purchase_count_30d'];
    return {
      basket_vs_30d_average:
        typeof amount === 'number' && typeof sum === 'number' && typeof count === 'number' && sum > 0
          ? amount / (sum / count)
          : null,
    };
  },
});

/**
 * The propensity features plus the on-demand one. The pipeline and the serving function read
 * the stored registry, which keeps no transforms, so the model trains on `purchase_propensity`;
 * this service is built with the repo loaded from code (`mlops features training-set --repo`).
 */
export const withBasket = featureService({
  name: 'purchase_propensity_basket',
  description: 'purchase_propensity and the basket ratio (on-demand)',
  features: [
    'users:age',
    'users:country',
    'users:plan',
    'purchases:amount',
    'purchases:purchase_count_7d',
    'purchases:purchase_count_30d',
    'purchases:purchase_count_90d',
    'basket',
  ],
});
