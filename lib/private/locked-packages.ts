import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { extractTgz } from './tar';

/** Where packages pinned by a lockfile are read from, and fetched into when not installed. */
export interface LockedPackagesOptions {
  /** The `node_modules` folder of installed packages. */
  readonly nodeModules: string;
  /** The npm lockfile that pins each package's version and integrity. */
  readonly lockfile: string;
  /** Keeps fetched packages between runs. @default `<nodeModules>/.cache/serverless-mlops/packages` */
  readonly cacheDir?: string;
  /**
   * Downloads `<name>@<version>`'s tarball into a folder and returns the file's path.
   * @default `npm pack`, so the project's registry, proxy and credentials apply
   */
  readonly fetchTarball?: (spec: string, destDir: string) => string;
}

type LockEntries = Record<string, { version?: string; integrity?: string }>;

export interface LockedPackage {
  readonly name: string;
  readonly version: string;
  readonly integrity: string;
}

/**
 * Packages at the exact version and integrity a lockfile records: read from `node_modules`
 * when that version is installed (offline), otherwise fetched once from the registry,
 * checked against the lockfile's sha512 and kept in a cache. npm skips optional packages
 * for another platform (`os`/`cpu`/`libc`), so this is how a macOS, Windows or arm64 host
 * gets a linux-x64 binding.
 *
 * @example
 * const pkgs = new LockedPackages({ nodeModules: 'node_modules', lockfile: 'package-lock.json' });
 * const dir = pkgs.resolve('@duckdb/node-bindings-linux-x64');
 */
export class LockedPackages {
  private readonly cacheDir: string;
  private readonly fetchTarball: (spec: string, destDir: string) => string;
  private lock?: LockEntries;

  constructor(private readonly options: LockedPackagesOptions) {
    this.cacheDir = options.cacheDir ?? join(options.nodeModules, '.cache', 'serverless-mlops', 'packages');
    this.fetchTarball =
      options.fetchTarball ?? ((spec, destDir) => npmPack(spec, destDir, dirname(options.lockfile)));
  }

  /** The lockfile's entry for a top-level package; throws naming the package when it is not pinned. */
  locked(name: string): LockedPackage {
    this.lock ??= (
      JSON.parse(readFileSync(this.options.lockfile, 'utf8')) as { packages: LockEntries }
    ).packages;
    const entry = this.lock?.[`node_modules/${name}`];
    if (!entry?.version || !entry.integrity) {
      throw new Error(`${name} has no version and integrity in ${this.options.lockfile}; run npm install`);
    }
    return { name, version: entry.version, integrity: entry.integrity };
  }

  /** A folder holding the package at its locked version (the installed one when it matches). */
  resolve(name: string): string {
    const pkg = this.locked(name);
    const installed = join(this.options.nodeModules, name);
    if (installedVersion(installed) === pkg.version) return realpathSync(installed);
    const cached = join(this.cacheDir, `${name.replace('/', '+')}@${pkg.version}`);
    if (existsSync(join(cached, 'package.json'))) return cached;
    this.fetch(pkg, cached);
    return cached;
  }

  private fetch(pkg: LockedPackage, cached: string): void {
    mkdirSync(this.cacheDir, { recursive: true });
    // Build in a private folder and rename, so a failed or concurrent fetch never leaves half a package.
    const work = mkdtempSync(join(this.cacheDir, '.fetch-'));
    try {
      let file: string;
      try {
        file = this.fetchTarball(`${pkg.name}@${pkg.version}`, work);
      } catch (err) {
        throw new Error(
          `${pkg.name}@${pkg.version} is not installed (npm skips it on ${process.platform}-${process.arch}) ` +
            `and could not be fetched from the npm registry: ${(err as Error).message.trim()}`,
        );
      }
      const tgz = readFileSync(file);
      verifyIntegrity(tgz, pkg);
      extractTgz(tgz, join(work, 'package'));
      try {
        renameSync(join(work, 'package'), cached);
      } catch (err) {
        // Another process finished the same fetch first: its copy is as good as ours.
        if (!existsSync(join(cached, 'package.json'))) throw err;
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}

function installedVersion(dir: string): string | undefined {
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) return undefined;
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version;
}

/** Checks a tarball against the lockfile's Subresource Integrity string (its sha512 entries). */
export function verifyIntegrity(tgz: Buffer, pkg: LockedPackage): void {
  const expected = pkg.integrity
    .split(/\s+/)
    .filter((s) => s.startsWith('sha512-'))
    .map((s) => s.slice('sha512-'.length));
  if (expected.length === 0) {
    throw new Error(`${pkg.name}@${pkg.version}: the lockfile records no sha512 integrity to check against`);
  }
  const actual = createHash('sha512').update(tgz).digest('base64');
  if (!expected.includes(actual)) {
    throw new Error(
      `${pkg.name}@${pkg.version}: the fetched tarball's sha512 (${actual}) is not the lockfile's; refusing to use it`,
    );
  }
}

/** `npm pack <spec>` into `destDir`, run in the project (its .npmrc applies); returns the tarball's path. */
function npmPack(spec: string, destDir: string, cwd: string): string {
  const out = execFileSync(
    'npm',
    ['pack', spec, '--pack-destination', destDir, '--json', '--ignore-scripts', '--silent'],
    // npm is a .cmd script on Windows, which only a shell runs.
    { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' },
  );
  const [packed] = JSON.parse(out) as { filename: string }[];
  if (!packed) throw new Error(`npm pack ${spec} reported no tarball`);
  return join(destDir, packed.filename);
}
