import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MlopsError } from '../platform/errors';
import { connect, resolveConnection } from '../tracking/client/connection';

/**
 * `mlops models export <name> <version> --out <dir>`: asks the serving API for a version's
 * export, downloads the ONNX file from its short-lived URL, checks the sha256 and writes
 * `model.onnx`, `signature.json` and `model.onnx.sha256` (sha256sum's format) to the folder.
 *
 * @example
 * await exportModel({ name: 'churn', version: '3', out: './edge' });
 */
export async function exportModel(o: {
  name: string;
  version: string;
  out: string;
  apiUrl?: string;
}): Promise<string> {
  const call = connect(resolveConnection({ apiUrl: o.apiUrl }));
  const res = await call(
    'GET',
    `/v1/models/${encodeURIComponent(o.name)}/versions/${encodeURIComponent(o.version)}/export`,
  );
  const download = await fetch(res.onnx.url);
  if (!download.ok) {
    throw new MlopsError(
      'TEMPORARILY_UNAVAILABLE',
      `downloading the model failed with HTTP ${download.status}; retry`,
    );
  }
  const bytes = new Uint8Array(await download.arrayBuffer());
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== res.onnx.sha256) {
    throw new MlopsError(
      'INTERNAL_ERROR',
      `the downloaded model's sha256 ${sha} is not the exported ${res.onnx.sha256}; retry`,
    );
  }
  const dir = resolve(o.out);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), bytes);
  await writeFile(join(dir, 'signature.json'), `${JSON.stringify(res.signature, null, 2)}\n`);
  await writeFile(join(dir, 'model.onnx.sha256'), `${sha}  model.onnx\n`);
  return dir;
}
