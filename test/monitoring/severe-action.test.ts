import { describe, expect, it } from 'vitest';
import { type AlarmActionEvent, rollbackOnSevereAlarm } from '../../lambdas/monitoring/performance/severe';
import {
  type DeploymentRecords,
  type DeploymentState,
  type LambdaControl,
  rollback,
} from '../../lambdas/serving/deploy/workflow';

/**
 * The alias and the registry's deployment tags in memory: the two ports serving's rollback
 * works through (their Lambda and DynamoDB adapters run in test/monitoring/severe.test.ts).
 */
function platform(tags: Record<string, Record<string, string>>, alias = { version: '7', weights: {} }) {
  const state = { alias: { ...alias } };
  const lambda: LambdaControl = {
    getAlias: async () => ({ ...state.alias, revisionId: 'r' }),
    versionEnvironment: async (v) => ({ MODEL_VERSION: v === '7' ? '2' : '1' }),
    publishPinned: async () => {
      throw new Error('not used');
    },
    setAlias: async (_alias, version, additional) => {
      state.alias = { version, weights: additional ? { [additional.version]: additional.weight } : {} };
    },
    invokeVersion: async () => ({ payload: undefined }),
  };
  const records: DeploymentRecords = {
    versionExists: async (_m, v) => v in tags,
    tags: async (_m, v) => ({ ...tags[v] }),
    setTags: async (_m, v, t) => {
      tags[v] = { ...tags[v], ...t };
    },
    versions: async () => Object.entries(tags).map(([version, t]) => ({ version, tags: { ...t } })),
  };
  return { state, tags, deps: { settings: { servedModel: 'churn', alias: 'live' }, lambda, records } };
}

const event = (value: string): AlarmActionEvent => ({
  alarmData: { alarmName: 'churn-severe', state: { value, reason: 'PerformanceDrop is ALARM' } },
});
const live = {
  '2': {
    'mlops.deployment.status': 'live',
    'mlops.deployment.lambda_version': '7',
    'mlops.deployment.previous_lambda_version': '5',
  },
};

describe('the severe alarm action', () => {
  it('rolls the alias back to the version before the current deployment and names the alarm', async () => {
    const p = platform(structuredClone(live));
    const out = await rollbackOnSevereAlarm(event('ALARM'), p.deps, { cooldownMs: 900_000 });
    expect(out).toMatchObject({ action: 'rolled_back', version: '2', liveLambdaVersion: '5' });
    expect(p.state.alias).toEqual({ version: '5', weights: {} });
    expect(p.tags['2']).toMatchObject({
      'mlops.deployment.status': 'rolled_back',
      'mlops.deployment.rolled_back_by': 'churn-severe',
      'mlops.deployment.rollback_reason': 'severe alarm churn-severe: PerformanceDrop is ALARM',
    });
  });

  it('stands down when the model was rolled back moments ago, so one incident never undoes two versions', async () => {
    const tags = {
      ...structuredClone(live),
      '3': {
        'mlops.deployment.status': 'rolled_back',
        'mlops.deployment.lambda_version': '8',
        'mlops.deployment.previous_lambda_version': '7',
        'mlops.deployment.rolled_back_at': new Date(Date.now() - 60_000).toISOString(),
      },
    };
    const p = platform(tags);
    const out = await rollbackOnSevereAlarm(event('ALARM'), p.deps, { cooldownMs: 900_000 });
    expect(out).toMatchObject({ action: 'skipped' });
    expect(out.reason).toMatch(/version 3 of 'churn' was rolled back less than 900 s ago/);
    expect(p.state.alias.version).toBe('7');
    // Past the cooldown, the live deployment is rolled back.
    const later = await rollbackOnSevereAlarm(event('ALARM'), p.deps, {
      cooldownMs: 900_000,
      now: Date.now() + 3_600_000,
    });
    expect(later).toMatchObject({ action: 'rolled_back', version: '2' });
  });

  it('never rolls back the healthy version while a canary rolls itself back on the same errors', async () => {
    // The canary (v3 on Lambda version 8, 10% of traffic) and the severe action both react to
    // its error alarm. The canary's rollback (two writes) is played at each point of the
    // action's reads, and between its own two writes.
    const canary = {
      ...structuredClone(live),
      '3': {
        'mlops.deployment.status': 'canary',
        'mlops.deployment.lambda_version': '8',
        'mlops.deployment.previous_lambda_version': '7',
      },
    };
    const state = { model: 'churn', version: '3', previousVersion: '7' } as DeploymentState;
    const settings = {
      servedModel: 'churn',
      alias: 'live',
      alarms: { blue: [], green: [] },
      defaultBakeSeconds: 0,
    };
    for (const at of ['getAlias', 'versionEnvironment', 'versions', 'halfway'] as const) {
      const p = platform(structuredClone(canary), { version: '7', weights: { '8': 0.1 } });
      const canaryRollback = () =>
        rollback(state, 'alarm at 10% traffic: ErrorRate', settings, p.deps.lambda, p.deps.records);
      let played = false;
      const play = async (call: string) => {
        if (call !== at || played) return;
        played = true;
        await canaryRollback();
      };
      const lambda: LambdaControl = {
        ...p.deps.lambda,
        getAlias: async (a) => (await play('getAlias'), p.deps.lambda.getAlias(a)),
        versionEnvironment: async (v) => (
          await play('versionEnvironment'), p.deps.lambda.versionEnvironment(v)
        ),
      };
      const records: DeploymentRecords = {
        ...p.deps.records,
        versions: async (m) => (await play('versions'), p.deps.records.versions(m)),
      };
      if (at === 'halfway') {
        // The canary has written its record, and not yet moved the alias.
        await p.deps.records.setTags('churn', '3', {
          'mlops.deployment.status': 'rolled_back',
          'mlops.deployment.rolled_back_at': new Date().toISOString(),
        });
      }
      const out = await rollbackOnSevereAlarm(
        event('ALARM'),
        { ...p.deps, lambda, records },
        { cooldownMs: 900_000 },
      );
      if (!played && at !== 'halfway') throw new Error(`the action never called ${at}`);
      await canaryRollback();
      // Whichever acted, only the canary is undone: the live alias is back on v2's version 7.
      expect(p.state.alias, at).toEqual({ version: '7', weights: {} });
      expect(p.tags['2']?.['mlops.deployment.status'], at).toBe('live');
      expect(p.tags['3']?.['mlops.deployment.status'], at).toBe('rolled_back');
      expect(['skipped', 'rolled_back'], at).toContain(out.action);
      if (out.action === 'rolled_back') expect(out.version, at).toBe('3');
    }
  });

  it('ignores a return to OK, and does nothing when no deployment can be undone', async () => {
    const p = platform(structuredClone(live));
    expect(await rollbackOnSevereAlarm(event('OK'), p.deps, { cooldownMs: 0 })).toMatchObject({
      action: 'ignored',
    });
    const none = platform({});
    expect(await rollbackOnSevereAlarm(event('ALARM'), none.deps, { cooldownMs: 0 })).toMatchObject({
      action: 'nothing_to_roll_back',
    });
    expect(none.state.alias.version).toBe('7');
  });
});
