import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
} from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/**
 * The web console served by the local runtime at `/console` (`mlops up`). Local only: on AWS
 * the same build is in a private S3 bucket behind CloudFront (lib/console/), not behind the API.
 */

/** The console's sources: `console/` of this repository. */
export const CONSOLE_ROOT = fileURLToPath(new URL('../console/', import.meta.url));
export const CONSOLE_PATH = '/console';

/** What `/console/config.json` tells the console: where the API is and how to sign calls. */
export interface ConsoleConfig {
  readonly apiUrl: string;
  /** 'local-keys' when the runtime checks SigV4 (`mlops up --auth`): sign in with a role's key. */
  readonly auth: 'none' | 'local-keys';
}

/** The newest modification time of the files a build reads (sources, config, lockfile). */
function newestSource(root: string): number {
  let newest = 0;
  const visit = (path: string) => {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
    } else newest = Math.max(newest, st.mtimeMs);
  };
  for (const f of ['index.html', 'vite.config.ts', 'tsconfig.json', 'src']) visit(join(root, f));
  visit(join(root, '..', 'package-lock.json'));
  return newest;
}

/** Whether `dist/` is missing or older than a source it was built from. */
export function consoleBuildIsStale(root = CONSOLE_ROOT): boolean {
  const built = statSync(join(root, 'dist', 'index.html'), { throwIfNoEntry: false });
  return !built || built.mtimeMs < newestSource(root);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A build lock between processes (parallel test files start runtimes): a directory made atomically. */
async function withBuildLock<T>(root: string, work: () => Promise<T>): Promise<T> {
  const lock = join(root, '.build-lock');
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock older than any build is one a killed process left.
      const st = statSync(lock, { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs > 180_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline)
        throw new Error(`console build: ${lock} is held; remove it if no build runs`);
      await sleep(250);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Builds the console with Vite's JS API when `console/dist` is missing or older than its
 * sources; otherwise does nothing. The build goes to a fresh folder that replaces `dist`,
 * so a reader never sees half of one.
 *
 * @example
 * await ensureConsoleBuilt({ onProgress: console.log });
 */
export async function ensureConsoleBuilt(
  options: { root?: string; onProgress?: (m: string) => void } = {},
): Promise<{ built: boolean; dist: string }> {
  const root = options.root ?? CONSOLE_ROOT;
  const dist = join(root, 'dist');
  if (!consoleBuildIsStale(root)) return { built: false, dist };
  return withBuildLock(root, async () => {
    // Another process may have built it while this one waited.
    if (!consoleBuildIsStale(root)) return { built: false, dist };
    options.onProgress?.('building the web console (vite)');
    const { build } = await import('vite');
    const next = join(root, `.dist-${process.pid}`);
    rmSync(next, { recursive: true, force: true });
    // Vite picks development builds of dependencies when NODE_ENV says so (the test runner
    // sets 'test'): the console is always built for production.
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await build({ configFile: join(root, 'vite.config.ts'), build: { outDir: next, emptyOutDir: true } });
    } finally {
      if (nodeEnv === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = nodeEnv;
    }
    const old = join(root, `.dist-old-${process.pid}`);
    if (existsSync(dist)) renameSync(dist, old);
    renameSync(next, dist);
    rmSync(old, { recursive: true, force: true });
    return { built: true, dist };
  });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra = {}) {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(body);
}

/** Text files worth compressing; images and fonts are compressed already. */
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.json', '.svg']);

/** The encoding to answer with: brotli, else gzip, else none (`q=0` refuses one). */
export function pickEncoding(acceptEncoding: string | undefined): 'br' | 'gzip' | undefined {
  const accepted = new Map<string, number>();
  for (const part of (acceptEncoding ?? '').toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    if (!name) continue;
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    accepted.set(name, q === undefined ? 1 : Number(q));
  }
  const ok = (e: string) => (accepted.get(e) ?? accepted.get('*') ?? 0) > 0;
  return ok('br') ? 'br' : ok('gzip') ? 'gzip' : undefined;
}

/**
 * A file's compressed bytes, made once per version of the file (its size and mtime) and kept:
 * the build is a few files of tens of kB. Brotli at quality 5 compresses a 100 kB bundle in a
 * few ms, so the first visitor does not wait for a maximum-quality pass.
 */
function compressedCache() {
  const cache = new Map<string, { version: string; body: Buffer }>();
  return (file: string, st: Stats, encoding: 'br' | 'gzip'): Buffer => {
    const version = `${st.size}-${st.mtimeMs}`;
    const key = `${encoding}:${file}`;
    const hit = cache.get(key);
    if (hit?.version === version) return hit.body;
    const raw = readFileSync(file);
    const body =
      encoding === 'br'
        ? brotliCompressSync(raw, {
            params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
          })
        : gzipSync(raw, { level: 6 });
    cache.set(key, { version, body });
    return body;
  };
}

/**
 * Serves the built console under `/console`: `config.json` from `config()`, files from
 * `dist`. Hashed assets are cached for good; `index.html` is revalidated (an ETag answers
 * 304 when it has not changed) so a rebuild shows. Text files go brotli or gzip compressed
 * when the browser accepts it.
 */
export function consoleSite(options: { dist: string; config: () => ConsoleConfig }) {
  const dist = normalize(options.dist);
  const compressed = compressedCache();
  return {
    prefix: CONSOLE_PATH,
    handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
      req.resume();
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(res, 405, 'text/plain', 'The console is read with GET', { allow: 'GET, HEAD' });
        return;
      }
      // Relative asset URLs resolve against the folder, so `/console` becomes `/console/`.
      if (url.pathname === CONSOLE_PATH) {
        send(res, 301, 'text/plain', '', { location: `${CONSOLE_PATH}/` });
        return;
      }
      let rel: string;
      try {
        rel = decodeURIComponent(url.pathname.slice(CONSOLE_PATH.length + 1)) || 'index.html';
      } catch {
        send(res, 400, 'text/plain', 'Malformed path');
        return;
      }
      if (rel === 'config.json') {
        send(res, 200, TYPES['.json'] as string, JSON.stringify(options.config()), {
          'cache-control': 'no-store',
        });
        return;
      }
      const file = normalize(join(dist, rel));
      if (!file.startsWith(dist + sep)) {
        send(res, 404, 'text/plain', 'Not found');
        return;
      }
      const st = statSync(file, { throwIfNoEntry: false });
      if (!st?.isFile()) {
        send(res, 404, 'text/plain', `No console file ${rel}`);
        return;
      }
      const compressible = COMPRESSIBLE.has(extname(file));
      const encoding = compressible ? pickEncoding(req.headers['accept-encoding']) : undefined;
      // One ETag per file version and encoding: a cache must not answer gzip for brotli.
      const etag = `W/"${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}${encoding ? `-${encoding}` : ''}"`;
      const headers: Record<string, string | number> = {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'x-content-type-options': 'nosniff',
        'cache-control': rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        etag,
        ...(compressible ? { vary: 'Accept-Encoding' } : {}),
      };
      const seen = req.headers['if-none-match'];
      if (seen?.split(',').some((t) => t.trim() === etag)) {
        res.writeHead(304, headers);
        res.end();
        return;
      }
      if (encoding) {
        const body = compressed(file, st, encoding);
        res.writeHead(200, { ...headers, 'content-encoding': encoding, 'content-length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      res.writeHead(200, { ...headers, 'content-length': st.size });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      createReadStream(file)
        .on('error', () => res.destroy())
        .pipe(res);
    },
  };
}

export type ConsoleSite = ReturnType<typeof consoleSite>;
