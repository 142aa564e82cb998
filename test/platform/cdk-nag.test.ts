import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';

/** Synthesizes with cdk-nag's AwsSolutions pack and returns the error-level violations it reports. */
function nagViolations(
  mutate?: (stack: ReturnType<typeof buildApp>['stack']) => void,
  env?: { account: string; region: string },
): string[] {
  const outdir = mkdtempSync(join(tmpdir(), 'mlops-nag-'));
  try {
    const { app, stack } = buildApp({ stage: 'nag' }, { nag: true, skipBundling: true, outdir, env });
    mutate?.(stack);
    try {
      app.synth();
    } catch {
      // A failing validation throws after writing its report; the report is what we assert on.
    }
    const file = join(outdir, 'validation-report.json');
    if (!existsSync(file)) return [];
    const report = JSON.parse(readFileSync(file, 'utf8'));
    const violations: string[] = [];
    for (const plugin of report.pluginReports ?? []) {
      for (const v of plugin.violations ?? []) {
        if (v.severity !== 'error') continue;
        for (const c of v.violatingConstructs ?? []) violations.push(`${v.ruleName} ${c.constructPath}`);
      }
    }
    return violations;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

// Each case synthesizes the whole platform with cdk-nag: minutes on a loaded 2-core machine.
describe('cdk-nag AwsSolutions checks', { timeout: 600_000 }, () => {
  it('report no unsuppressed violation on the platform', () => {
    expect(nagViolations()).toEqual([]);
  });

  it('report no unsuppressed violation for a stack bound to an account and region', () => {
    // `cdk deploy` binds the stack to the caller's environment: findings then name it literally.
    expect(nagViolations(undefined, { account: '123456789012', region: 'eu-west-1' })).toEqual([]);
  });

  it('do catch a violation (the check is live)', () => {
    const found = nagViolations((stack) => {
      new s3.Bucket(stack, 'CarelessBucket');
    });
    expect(found.some((v) => v.includes('CarelessBucket'))).toBe(true);
  });

  it('require a reason for every acknowledgement', () => {
    const { app } = buildApp({ stage: 'nag' }, { nag: false, skipBundling: true });
    const reasons: string[] = [];
    for (const c of app.node.findAll()) {
      for (const m of c.node.metadata) {
        if (m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
          reasons.push(...Object.values(m.data as Record<string, string>));
        }
      }
    }
    expect(reasons.length).toBeGreaterThan(0);
    for (const r of reasons) expect(r.length).toBeGreaterThan(20);
  });
});
