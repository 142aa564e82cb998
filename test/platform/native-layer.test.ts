import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LockedPackagesOptions } from '../../lib/private/locked-packages';
import { LockedPackages } from '../../lib/private/locked-packages';
import { NativeModulesLayer } from '../../lib/private/native-layer';
import { REPO_ROOT } from '../../lib/private/platform-function';

const REAL_MODULES = join(REPO_ROOT, 'node_modules');
const LOCKFILE = join(REPO_ROOT, 'package-lock.json');
const DUCKDB_LINUX = '@duckdb/node-bindings-linux-x64';
/** What `npm ci` installs on macOS, Windows or arm64: everything but DuckDB's linux-x64 binding. */
const INSTALLED_ELSEWHERE = [
  '@duckdb/node-api',
  '@duckdb/node-bindings',
  'detect-libc',
  'onnxruntime-common',
  'onnxruntime-node',
];

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'mlops-layer-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Synthesizes a stack holding only the layer (bundled) and returns the layer's staged folder. */
function synthLayer(packages: LockedPackagesOptions): string {
  const outdir = mkdtempSync(join(work, 'out-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'Layer');
  new NativeModulesLayer(stack, 'Native', { packages });
  app.synth();
  const [layer] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::LayerVersion'));
  const key = String(layer?.Properties.Content.S3Key);
  return join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'nodejs', 'node_modules');
}

function noNetwork(): never {
  throw new Error('the network must not be used');
}

describe('the native modules layer', () => {
  it('is built on a host where npm skipped the linux-x64 binding, from the registry at the locked version', () => {
    const nodeModules = join(work, 'node_modules-elsewhere');
    for (const name of INSTALLED_ELSEWHERE) {
      mkdirSync(dirname(join(nodeModules, name)), { recursive: true });
      symlinkSync(join(REAL_MODULES, name), join(nodeModules, name), 'dir');
    }
    const cacheDir = join(work, 'cache');
    const layer = synthLayer({ nodeModules, lockfile: LOCKFILE, cacheDir });

    const so = join('@duckdb', 'node-bindings-linux-x64', 'libduckdb.so');
    expect(readFileSync(join(layer, so)).equals(readFileSync(join(REAL_MODULES, so)))).toBe(true);
    expect(existsSync(join(layer, 'onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node'))).toBe(
      true,
    );
    expect(existsSync(join(layer, 'onnxruntime-node/bin/napi-v6/darwin'))).toBe(false);

    // Fetched once: the next synthesis reads the cache, offline.
    const again = synthLayer({ nodeModules, lockfile: LOCKFILE, cacheDir, fetchTarball: noNetwork });
    expect(statSync(join(again, so)).size).toBe(statSync(join(REAL_MODULES, so)).size);
  });

  it('uses no network when the locked packages are installed', () => {
    const layer = synthLayer({
      nodeModules: REAL_MODULES,
      lockfile: LOCKFILE,
      cacheDir: join(work, 'unused-cache'),
      fetchTarball: noNetwork,
    });
    expect(existsSync(join(layer, DUCKDB_LINUX, 'duckdb.node'))).toBe(true);
    expect(existsSync(join(work, 'unused-cache'))).toBe(false);
  });

  it('refuses a tarball whose sha512 is not the lockfile’s, and caches nothing', () => {
    const cacheDir = join(work, 'tampered-cache');
    const packages = new LockedPackages({
      nodeModules: join(work, 'empty-node_modules'),
      lockfile: LOCKFILE,
      cacheDir,
      fetchTarball: (_spec, dest) => {
        writeFileSync(join(dest, 'x.tgz'), 'not the package');
        return join(dest, 'x.tgz');
      },
    });
    expect(() => packages.resolve(DUCKDB_LINUX)).toThrow(/sha512 .* is not the lockfile's; refusing/);
    expect(
      existsSync(join(cacheDir, `@duckdb+node-bindings-linux-x64@${packages.locked(DUCKDB_LINUX).version}`)),
    ).toBe(false);
  });

  it('names the package and the host when the registry cannot be reached', () => {
    const packages = new LockedPackages({
      nodeModules: join(work, 'empty-node_modules'),
      lockfile: LOCKFILE,
      cacheDir: join(work, 'offline-cache'),
      fetchTarball: () => {
        throw new Error('getaddrinfo ENOTFOUND registry.npmjs.org');
      },
    });
    expect(() => packages.resolve(DUCKDB_LINUX)).toThrow(
      /@duckdb\/node-bindings-linux-x64@\S+ is not installed .* could not be fetched .*ENOTFOUND/,
    );
  });
});
