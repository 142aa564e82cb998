import { describe, expect, it } from 'vitest';
import { decidePromotion, type PromotionRule } from '../../lambdas/training/evaluation/promotion-rule';

const rule: PromotionRule = {
  metric: 'auc',
  minImprovement: 0.005,
  guards: [
    { metric: 'log_loss', maxRegression: 0.01 },
    { metric: 'recall', maxRegression: 0.02 },
  ],
};
const production = { auc: 0.9, log_loss: 0.3, recall: 0.8 };

describe('the promotion rule', () => {
  it('promotes a candidate that improves AUC by at least δ and keeps the guards', () => {
    const v = decidePromotion(rule, { auc: 0.91, log_loss: 0.305, recall: 0.79 }, production);
    expect(v.promote).toBe(true);
    expect(v.reasons[0]).toMatch(/auc improves by 0.01/);
  });

  it('rejects a candidate whose AUC gain is below δ', () => {
    const v = decidePromotion(rule, { auc: 0.904, log_loss: 0.29, recall: 0.85 }, production);
    expect(v.promote).toBe(false);
    expect(v.reasons[0]).toMatch(/less than the required 0.005/);
  });

  it('rejects a worse candidate', () => {
    expect(decidePromotion(rule, { auc: 0.85, log_loss: 0.4, recall: 0.7 }, production).promote).toBe(false);
  });

  it('rejects a better-AUC candidate when a guarded metric regresses by more than ε (lower-is-better metric)', () => {
    const v = decidePromotion(rule, { auc: 0.95, log_loss: 0.32, recall: 0.8 }, production);
    expect(v.promote).toBe(false);
    expect(v.reasons).toContainEqual(expect.stringMatching(/guard log_loss gets worse by 0.02/));
  });

  it('rejects when a higher-is-better guard drops by more than ε', () => {
    const v = decidePromotion(rule, { auc: 0.95, log_loss: 0.3, recall: 0.77 }, production);
    expect(v.promote).toBe(false);
    expect(v.reasons).toContainEqual(expect.stringMatching(/guard recall gets worse/));
  });

  it('treats lower-is-better primary metrics in their direction', () => {
    const rmseRule: PromotionRule = { metric: 'rmse', minImprovement: 0.1, guards: [] };
    expect(decidePromotion(rmseRule, { rmse: 1.0 }, { rmse: 1.2 }).promote).toBe(true);
    expect(decidePromotion(rmseRule, { rmse: 1.15 }, { rmse: 1.2 }).promote).toBe(false);
  });

  it('promotes the first version when there is no Production version', () => {
    expect(decidePromotion(rule, { auc: 0.7, log_loss: 0.6, recall: 0.5 }, undefined).promote).toBe(true);
  });

  it('names a metric the scores lack', () => {
    expect(() => decidePromotion({ ...rule, metric: 'gini' }, { auc: 0.9 }, production)).toThrow(/'gini'/);
  });
});
