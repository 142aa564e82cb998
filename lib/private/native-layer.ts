import { createHash } from 'node:crypto';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { LockedPackages, type LockedPackagesOptions } from './locked-packages';
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

export interface NativeModulesLayerProps {
  /**
   * Where the layer's packages come from. Tests point it at another node_modules and cache.
   * @default this checkout's node_modules and package-lock.json
   */
  readonly packages?: LockedPackagesOptions;
}

/**
 * A Lambda layer with DuckDB's and ONNX Runtime's native bindings for linux-x64, at the
 * versions package-lock.json pins, whatever the host. Each package is copied from
 * node_modules when installed (no Docker, no network); npm skips DuckDB's linux-x64 binding
 * on macOS, Windows and arm64, so there it is fetched once from the npm registry, checked
 * against the lockfile's sha512 and cached. (onnxruntime-node is one package with every
 * platform's binaries, so it is installed everywhere.) About 120 MB unzipped, under
 * Lambda's 250 MB limit with room for function code.
 */
export class NativeModulesLayer extends Construct {
  readonly layer: lambda.LayerVersion;

  constructor(scope: Construct, id: string, props: NativeModulesLayerProps = {}) {
    super(scope, id);
    const packages = new LockedPackages(
      props.packages ?? {
        nodeModules: join(REPO_ROOT, 'node_modules'),
        lockfile: join(REPO_ROOT, 'package-lock.json'),
      },
    );
    this.layer = new lambda.LayerVersion(this, 'Layer', {
      description: 'DuckDB and ONNX Runtime native bindings (linux-x64)',
      compatibleRuntimes: [lambda.Runtime.NODEJS_24_X],
      compatibleArchitectures: [lambda.Architecture.X86_64],
      code: lambda.Code.fromAsset(join(REPO_ROOT, 'lib', 'private'), {
        // Hash the locked versions, not the node_modules tree: the same on every host.
        assetHashType: AssetHashType.CUSTOM,
        assetHash: layerHash(packages),
        bundling: {
          image: DockerImage.fromRegistry('unused-local-bundling-only'),
          local: {
            tryBundle(outputDir: string): boolean {
              const target = join(outputDir, 'nodejs', 'node_modules');
              for (const pkg of LAYER_PACKAGES) {
                const from = packages.resolve(pkg.name);
                mkdirSync(join(target, pkg.name), { recursive: true });
                cpSync(from, join(target, pkg.name), {
                  recursive: true,
                  filter: (src) => !pkg.skip?.(src.slice(from.length + 1).replaceAll('\\', '/')),
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

function layerHash(packages: LockedPackages): string {
  const h = createHash('sha256');
  for (const pkg of LAYER_PACKAGES) {
    const { version, integrity } = packages.locked(pkg.name);
    h.update(`${pkg.name}@${version} ${integrity} ${pkg.skip?.toString() ?? ''};`);
  }
  return h.digest('hex');
}
