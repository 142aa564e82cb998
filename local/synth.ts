import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../lib/app';
import type { CfnTemplate } from './template';

/**
 * Synthesizes the platform in-process (no bundling, no cdk-nag: only the template is
 * needed) and returns its CloudFormation template: what `cdk deploy` would deploy.
 *
 * @example
 * const template = synthTemplate({ stage: 'local' });
 */
export function synthTemplate(configInput: unknown = { stage: 'local' }): CfnTemplate {
  const outdir = mkdtempSync(join(tmpdir(), 'mlops-synth-'));
  try {
    const { app, stack } = buildApp(configInput, { nag: false, skipBundling: true, outdir });
    return app.synth().getStackByName(stack.stackName).template as CfnTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
