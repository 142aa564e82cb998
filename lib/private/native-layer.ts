import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { REPO_ROOT } from './platform-function';

/** Packages with native binaries that functions take from the layer instead of their bundle. */
export const NATIVE_MODULES = [
  '@duckdb/node-api',
  '@duckdb/node-bindings',
  'onnxruntime-node',
  'onnxruntime-common',
];

/** What goes into the layer: the packages above, for linux-x64 only (with their runtime deps). */
const LAYER_PACKAGES: { name: string; skip?: (rel: string) => boolean }[] = [
  { name: '@duckdb/node-api' },
  { name: '@duckdb/node-bindings' },
  { name: '@duckdb/node-bindings-linux-x64' },
  { name: 'detect-libc' },
  { name: 'onnxruntime-common' },
  {
    name: 'onnxruntime-node',
    // The package ships every platform (288 MB); Lambda needs linux/x64 (46 MB).
    skip: (rel) => /bin\/napi-v\d+\/(darwin|win32|linux\/arm64)/.test(rel),
  },
];

/**
 * A Lambda layer with DuckDB's and ONNX Runtime's native bindings for linux-x64, copied
 * from this checkout's node_modules at synth time (no Docker, no network). About 120 MB
 * unzipped, under Lambda's 250 MB limit with room for function code.
 */
export class NativeModulesLayer extends Construct {
  readonly layer: lambda.LayerVersion;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.layer = new lambda.LayerVersion(this, 'Layer', {
      description: 'DuckDB and ONNX Runtime native bindings (linux-x64)',
      compatibleRuntimes: [lambda.Runtime.NODEJS_24_X],
      compatibleArchitectures: [lambda.Architecture.X86_64],
      code: lambda.Code.fromAsset(join(REPO_ROOT, 'lib', 'private'), {
        // Hash the package list and versions, not the whole node_modules tree.
        assetHashType: AssetHashType.CUSTOM,
        assetHash: layerHash(),
        bundling: {
          image: DockerImage.fromRegistry('unused-local-bundling-only'),
          local: {
            tryBundle(outputDir: string): boolean {
              const target = join(outputDir, 'nodejs', 'node_modules');
              for (const pkg of LAYER_PACKAGES) {
                const from = join(REPO_ROOT, 'node_modules', pkg.name);
                if (!existsSync(from))
                  throw new Error(`native layer: ${pkg.name} is not installed; run npm ci`);
                mkdirSync(join(target, pkg.name), { recursive: true });
                cpSync(from, join(target, pkg.name), {
                  recursive: true,
                  filter: (src) => !pkg.skip?.(src.slice(from.length + 1)),
                });
              }
              return true;
            },
          },
        },
      }),
    });
  }
}

function layerHash(): string {
  const h = createHash('sha256');
  for (const pkg of LAYER_PACKAGES) {
    const manifest = join(REPO_ROOT, 'node_modules', pkg.name, 'package.json');
    const version = existsSync(manifest)
      ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version
      : 'missing';
    h.update(`${pkg.name}@${version};`);
  }
  return h.digest('hex');
}
