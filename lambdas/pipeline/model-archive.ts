import { gunzipSync } from 'node:zlib';
import { InvalidParameterError } from '../platform/errors';

/** Largest archive we unpack in a function's memory (a model, not a data set). */
export const MAX_ARCHIVE_BYTES = 2 * 1024 ** 3;

const BLOCK = 512;
const decoder = new TextDecoder();

function field(header: Uint8Array, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return decoder.decode(end === -1 ? raw : raw.subarray(0, end));
}

function octal(header: Uint8Array, offset: number, length: number, name: string): number {
  // GNU base-256 for sizes of 8 GiB and more: the first byte has its high bit set.
  if ((header[offset]! & 0x80) !== 0) {
    let n = 0;
    for (let i = offset + 1; i < offset + length; i++) n = n * 256 + header[i]!;
    return n;
  }
  const text = field(header, offset, length).trim();
  const n = text === '' ? 0 : Number.parseInt(text, 8);
  if (!Number.isFinite(n)) throw new InvalidParameterError(`The tar entry '${name}' has a malformed size`);
  return n;
}

/** Names as tar tools write them (`./model.onnx`, `model.onnx`) compare equal. */
function normalize(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/** The `path` record of a pax extended header, if it has one. */
function paxPath(body: Uint8Array): string | undefined {
  const text = decoder.decode(body);
  let i = 0;
  while (i < text.length) {
    const space = text.indexOf(' ', i);
    const length = Number.parseInt(text.slice(i, space), 10);
    if (space === -1 || !(length > 0)) return undefined;
    const record = text.slice(space + 1, i + length - 1);
    if (record.startsWith('path=')) return record.slice(5);
    i += length;
  }
  return undefined;
}

/**
 * The regular files of a tar archive (ustar, GNU long names and pax paths), by name with any
 * leading `./` removed. Enough for the archives SageMaker and `tar czf` write; links, devices
 * and directories are skipped.
 *
 * @example
 * const files = readTar(gunzipSync(bytes)); files.get('model.onnx');
 */
export function readTar(tar: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break;
    let name = field(header, 0, 100);
    const magic = field(header, 257, 6);
    if (magic.startsWith('ustar')) {
      const prefix = field(header, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    const size = octal(header, 124, 12, name);
    const type = String.fromCharCode(header[156] ?? 0);
    const start = offset + BLOCK;
    if (start + size > tar.length) {
      throw new InvalidParameterError(`The tar archive is truncated inside '${name}'`);
    }
    const body = tar.subarray(start, start + size);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = field(body, 0, body.length);
      continue;
    }
    if (type === 'x') {
      longName = paxPath(body) ?? longName;
      continue;
    }
    if (type === 'g') continue;
    const fullName = longName ?? name;
    longName = undefined;
    if (type === '0' || type === '\0' || type === '7') files.set(normalize(fullName), body);
  }
  return files;
}

/**
 * Reads one file out of a `.tar.gz` (what SageMaker uploads as `output/model.tar.gz`).
 * A missing file is an InvalidParameterError listing what the archive holds.
 *
 * @example
 * const onnx = extractFromTarGz(await store.get(bucket, key), 'model.onnx');
 */
export function extractFromTarGz(gz: Uint8Array, wanted: string): Uint8Array {
  let tar: Uint8Array;
  try {
    tar = gunzipSync(gz, { maxOutputLength: MAX_ARCHIVE_BYTES });
  } catch (err) {
    throw new InvalidParameterError(`The model archive is not a readable .tar.gz: ${(err as Error).message}`);
  }
  const files = readTar(tar);
  const found = files.get(normalize(wanted));
  if (found) return found;
  const names = [...files.keys()];
  throw new InvalidParameterError(
    `The model archive has no '${wanted}' at its root (it holds: ${names.length ? names.slice(0, 20).join(', ') : 'no files'}); ` +
      `the training container must write the model to /opt/ml/model/${wanted}`,
  );
}
