import { relative, resolve } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { build, type Message, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import type { PlatformConfigInput } from '../../lib/config';
import { NATIVE_MODULES, NativeModulesLayer } from '../../lib/private/native-layer';
import { PlatformFunction, REPO_ROOT } from '../../lib/private/platform-function';

/**
 * Tests synthesize with bundling skipped, so a function whose imports reach onnxruntime-node
 * or DuckDB without the native layer would only fail at `cdk synth` (esbuild cannot bundle a
 * `.node` file) or, with the module marked external but no layer, at its first cold start.
 * This bundles every function's entry as PlatformFunction does (same externals, ESM, node24,
 * the same main fields), metafile only, nothing written, and checks where native code is reached.
 */

/**
 * Configurations whose templates together hold every function the platform defines (the
 * serving backend changes what the predict function does; the trainer adds none today).
 */
const CONFIGS: PlatformConfigInput[] = [
  { stage: 'b-default' },
  { stage: 'b-sagemaker', servingBackend: 'sagemaker', pipeline: { maxTrials: 40 } },
];

interface FunctionBundle {
  /** Construct paths of the functions bundling this entry with these externals. */
  readonly functions: string[];
  readonly entry: string;
  readonly externals: readonly string[];
  readonly nativeLayer: boolean;
}

/** Every PlatformFunction of a stack: its entry, externals and whether the native layer is attached. */
function functionsOf(stack: Stack): FunctionBundle[] {
  const all = stack.node.findAll();
  const layers = all
    .filter((c): c is NativeModulesLayer => c instanceof NativeModulesLayer)
    .map((l) => JSON.stringify(stack.resolve(l.layer.layerVersionArn)));
  return all
    .filter((c): c is PlatformFunction => c instanceof PlatformFunction)
    .map((pf) => {
      const cfn = pf.fn.node.defaultChild as lambda.CfnFunction;
      const attached = ((stack.resolve(cfn.layers) ?? []) as unknown[]).map((l) => JSON.stringify(l));
      return {
        functions: [pf.node.path],
        entry: pf.entry,
        externals: pf.externalModules,
        nativeLayer: attached.some((l) => layers.includes(l)),
      };
    });
}

/** The functions of several templates, one bundle per distinct (entry, externals, layer). */
function distinct(fns: FunctionBundle[]): FunctionBundle[] {
  const byKey = new Map<string, FunctionBundle>();
  for (const f of fns) {
    const key = JSON.stringify([f.entry, f.externals, f.nativeLayer]);
    const seen = byKey.get(key);
    if (seen) seen.functions.push(...f.functions);
    else byKey.set(key, { ...f, functions: [...f.functions] });
  }
  return [...byKey.values()];
}

const NATIVE_PACKAGE = new RegExp(
  `(^|/)node_modules/(${NATIVE_MODULES.map((m) => m.replace(/[/.]/g, '\\$&')).join('|')}|@duckdb/node-bindings-[^/]+)/`,
);
const isNativeImport = (path: string) =>
  NATIVE_MODULES.some((m) => path === m || path.startsWith(`${m}/`)) || path.endsWith('.node');

interface NativeReach {
  /** The native module or file reached. */
  readonly module: string;
  /** Whether esbuild left it to the runtime (external) or tried to put it in the bundle. */
  readonly how: 'external' | 'bundled' | 'error';
  /** Entry → ... → the module that imports it. */
  readonly chain: string[];
}

/** Where a bundle reaches native code: external native imports, native files bundled, or the error a `.node` file gives. */
async function nativeReach(f: FunctionBundle): Promise<NativeReach[]> {
  let metafile: Metafile;
  try {
    ({ metafile } = await build({
      entryPoints: [resolve(REPO_ROOT, f.entry)],
      absWorkingDir: REPO_ROOT,
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      minify: true,
      mainFields: ['module', 'main'],
      external: [...f.externals],
      outfile: 'index.mjs',
      logLevel: 'silent',
    }));
  } catch (err) {
    const errors = ((err as { errors?: Message[] }).errors ?? []) as Message[];
    const native = errors.filter((e) => /\.node\b/.test(e.text));
    if (!native.length) throw err;
    return native.map((e) => ({ module: e.text, how: 'error', chain: [f.entry, e.location?.file ?? '?'] }));
  }
  const inputs = metafile.inputs;
  // Who imports whom, to name the chain from the entry to the native import.
  const importers = new Map<string, string>();
  const entry = relative(REPO_ROOT, resolve(REPO_ROOT, f.entry));
  const queue = [entry];
  importers.set(entry, '');
  while (queue.length) {
    const at = queue.shift() as string;
    for (const imp of inputs[at]?.imports ?? []) {
      if (imp.external || importers.has(imp.path)) continue;
      importers.set(imp.path, at);
      queue.push(imp.path);
    }
  }
  const chainTo = (file: string) => {
    const chain: string[] = [];
    for (let at: string | undefined = file; at; at = importers.get(at)) chain.unshift(at);
    return chain;
  };
  const found: NativeReach[] = [];
  for (const [file, input] of Object.entries(inputs)) {
    if (NATIVE_PACKAGE.test(file) || file.endsWith('.node')) {
      found.push({ module: file, how: 'bundled', chain: chainTo(file) });
      continue;
    }
    for (const imp of input.imports) {
      if (imp.external && isNativeImport(imp.path)) {
        found.push({ module: imp.path, how: 'external', chain: [...chainTo(file), imp.path] });
      }
    }
  }
  return found;
}

/** What is wrong with a function's native code: reached without the layer, or bundled instead of taken from it. */
function problems(f: FunctionBundle, reach: NativeReach[]): string[] {
  return reach
    .filter((r) => r.how !== 'external' || !f.nativeLayer)
    .map((r) =>
      r.how === 'external'
        ? `${f.functions.join(', ')} (${f.entry}) reaches ${r.module} without the native layer: ${r.chain.join(' → ')}`
        : `${f.functions.join(', ')} (${f.entry}) bundles native code ${r.module} instead of taking it from the layer (externalModules: NATIVE_MODULES): ${r.chain.join(' → ')}`,
    );
}

describe('function bundles', () => {
  it('reach onnxruntime or DuckDB only from functions with the native layer, as externals', async () => {
    const fns = distinct(
      CONFIGS.flatMap((config) => functionsOf(buildApp(config, { nag: false, skipBundling: true }).stack)),
    );
    expect(fns.length).toBeGreaterThan(10);
    const reached = await Promise.all(fns.map(async (f) => ({ f, reach: await nativeReach(f) })));
    expect(reached.flatMap(({ f, reach }) => problems(f, reach))).toEqual([]);

    // The check sees native code where it is: the predict function runs onnxruntime,
    // materialization DuckDB; the severe alarm's rollback, which imports serving's deploy
    // code, neither.
    const modulesOf = (entry: string) =>
      new Set(reached.filter((r) => r.f.entry === entry).flatMap((r) => r.reach.map((x) => x.module)));
    expect(modulesOf('lambdas/serving/handler.ts')).toContain('onnxruntime-node');
    expect(modulesOf('lambdas/features/online/materialize-handler.ts')).toContain('@duckdb/node-api');
    expect(modulesOf('lambdas/monitoring/performance/severe-handler.ts').size).toBe(0);
  }, 300_000);

  it('names the function and the import chain when one reaches onnxruntime without the layer', async () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Bad');
    const defaults = {
      serviceName: 'bad',
      stage: 'test',
      logRetentionDays: logs.RetentionDays.ONE_DAY,
    };
    new PlatformFunction(stack, 'NoLayer', {
      ...defaults,
      entry: 'lambdas/serving/handler.ts',
      externalModules: NATIVE_MODULES,
    });
    new PlatformFunction(stack, 'NoExternals', { ...defaults, entry: 'lambdas/serving/handler.ts' });
    const [noLayer, noExternals] = functionsOf(stack);

    const external = problems(noLayer as FunctionBundle, await nativeReach(noLayer as FunctionBundle));
    expect(external.join('\n')).toMatch(
      /Bad\/NoLayer \(lambdas\/serving\/handler\.ts\) reaches onnxruntime-node without the native layer: lambdas\/serving\/handler\.ts → .* → onnxruntime-node/,
    );
    const bundled = problems(noExternals as FunctionBundle, await nativeReach(noExternals as FunctionBundle));
    expect(bundled.length).toBeGreaterThan(0);
    expect(bundled.join('\n')).toMatch(
      /Bad\/NoExternals \(lambdas\/serving\/handler\.ts\) bundles native code/,
    );
  }, 120_000);
});
