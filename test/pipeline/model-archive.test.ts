import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { extractFromTarGz, readTar } from '../../lambdas/pipeline/model-archive';

// Archives written by GNU tar itself, in each header format it knows.
const dir = mkdtempSync(join(tmpdir(), 'mlops-tar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const deepName = `${'nested-directory-name/'.repeat(6)}weights-of-a-model-with-a-long-name.bin`;
const files: Record<string, Buffer> = {
  'model.onnx': Buffer.from(Array.from({ length: 1500 }, (_, i) => i % 251)),
  [deepName]: Buffer.from('long path body'),
  'empty.txt': Buffer.alloc(0),
};

function tarGz(format: string, relative: boolean): Uint8Array {
  const src = mkdtempSync(join(dir, 'src-'));
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(join(src, name, '..'), { recursive: true });
    writeFileSync(join(src, name), body);
  }
  const out = join(dir, `${format}-${relative}.tar.gz`);
  const members = relative ? ['.'] : Object.keys(files);
  execFileSync('tar', [`--format=${format}`, '-czf', out, '-C', src, ...members]);
  return new Uint8Array(readFileSync(out));
}

describe('the model archive reader', () => {
  for (const format of ['gnu', 'pax', 'ustar']) {
    it(`reads every regular file of a ${format} archive, long paths included, with or without ./`, () => {
      for (const relative of [true, false]) {
        const gz = tarGz(format, relative);
        const read = readTar(gunzipSync(gz));
        expect([...read.keys()].sort()).toEqual(Object.keys(files).sort());
        for (const [name, body] of Object.entries(files)) {
          expect(Buffer.from(read.get(name)!).equals(body), name).toBe(true);
        }
        expect(Buffer.from(extractFromTarGz(gz, 'model.onnx')).equals(files['model.onnx']!)).toBe(true);
      }
    });
  }

  it('refuses bytes that are not gzip, and an archive cut short, saying so', () => {
    expect(() => extractFromTarGz(new TextEncoder().encode('PK\u0003\u0004 a zip'), 'model.onnx')).toThrow(
      /not a readable \.tar\.gz/,
    );
    const tar = gunzipSync(tarGz('gnu', false));
    const cut = gzipSync(tar.subarray(0, 512 + 700));
    expect(() => extractFromTarGz(cut, 'model.onnx')).toThrow(/truncated inside 'model.onnx'/);
  });
});
