import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const CHILD = join(import.meta.dirname, 'module-loads-child.ts');

/** Heavy packages loaded when the given repo files are imported in a fresh process. */
function heavyLoads(files: readonly string[]): string[] {
  const out = execFileSync(process.execPath, ['--import', 'tsx', CHILD, ...files.map((f) => join(ROOT, f))], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(out) as string[];
}

/** Repo-relative paths of the .ts files under `dir` whose name matches. */
function files(dir: string, name: RegExp): string[] {
  return (readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' }) as string[])
    .filter((f) => name.test(f) && !f.endsWith('.test.ts'))
    .map((f) => relative(ROOT, join(ROOT, dir, f)))
    .sort();
}

describe('modules that cdk synth and the API contract load stay light', () => {
  it('every route module and every CDK construct load neither DuckDB, onnxruntime nor the Athena and Glue SDKs', () => {
    const routes = [...files('lambdas', /routes\.ts$/), 'lambdas/platform/health-api.ts'];
    const constructs = files('lib', /\.ts$/);
    expect(routes).toContain('lambdas/features/online/routes.ts');
    expect(constructs).toContain('lib/platform.ts');
    expect(heavyLoads([...routes, ...constructs])).toEqual([]);
  });

  it('the pipeline data step uses DuckDB but reaches Athena only through the port its handler injects', () => {
    expect(heavyLoads(['lambdas/pipeline/steps/data.ts'])).toEqual(['@duckdb/node-api']);
  });
});
