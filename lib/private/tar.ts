import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * Extracts a gzipped tar (an npm package tarball) into `dest`, dropping the first `strip`
 * path segments (npm tarballs put everything under `package/`). Reads the ustar, pax and
 * GNU long-name headers npm and its registry produce; links and devices are skipped, as
 * npm itself does not install them from a tarball. No `tar` package is installed here,
 * and what npm needs of the format is small.
 *
 * @example
 * extractTgz(readFileSync('duckdb-node-bindings-linux-x64-1.5.6-r.1.tgz'), 'out/pkg');
 */
export function extractTgz(tgz: Buffer, dest: string, strip = 1): void {
  const tar = gunzipSync(tgz);
  const root = resolve(dest);
  mkdirSync(root, { recursive: true });
  let offset = 0;
  let nextPath: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = numberField(header, 124, 12);
    const type = String.fromCharCode(header[156] ?? 0);
    const body = tar.subarray(offset + 512, offset + 512 + size);
    if (body.length < size) throw new Error('tar: archive is truncated');
    offset += 512 + Math.ceil(size / 512) * 512;

    if (type === 'x') {
      nextPath = paxPath(body) ?? nextPath;
      continue;
    }
    if (type === 'L') {
      nextPath = text(body, 0, body.length);
      continue;
    }
    if (type === 'g') continue;
    const isUstar = text(header, 257, 5) === 'ustar';
    const prefix = isUstar ? text(header, 345, 155) : '';
    const name = text(header, 0, 100);
    const path = nextPath ?? (prefix ? `${prefix}/${name}` : name);
    nextPath = undefined;

    const rel = path.split('/').filter(Boolean).slice(strip).join('/');
    if (!rel) continue;
    const target = resolve(root, rel);
    if (!target.startsWith(root + sep))
      throw new Error(`tar: entry ${path} points outside the target folder`);
    if (type === '5') {
      mkdirSync(target, { recursive: true });
    } else if (type === '0' || type === '\0' || type === '7') {
      mkdirSync(dirname(target), { recursive: true });
      // Keep the execute bits; always let the owner read and write.
      writeFileSync(target, body, { mode: (numberField(header, 100, 8) & 0o777) | 0o600 });
    }
  }
}

function text(buf: Buffer, start: number, length: number): string {
  const raw = buf.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8');
}

/** An octal field, or a base-256 one (high bit set) for sizes over 8 GiB. */
function numberField(buf: Buffer, start: number, length: number): number {
  const raw = buf.subarray(start, start + length);
  if ((raw[0] ?? 0) & 0x80) {
    let n = (raw[0] ?? 0) & 0x7f;
    for (let i = 1; i < raw.length; i++) n = n * 256 + (raw[i] ?? 0);
    return n;
  }
  const digits = text(buf, start, length).trim();
  return digits ? Number.parseInt(digits, 8) : 0;
}

/** The `path` record of a pax extended header (`<len> path=<value>\n` records). */
function paxPath(body: Buffer): string | undefined {
  let at = 0;
  let found: string | undefined;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    if (space === -1) break;
    const len = Number.parseInt(body.subarray(at, space).toString('ascii'), 10);
    if (!(len > 0)) break;
    const record = body.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (record.slice(0, eq) === 'path') found = record.slice(eq + 1);
    at += len;
  }
  return found;
}
