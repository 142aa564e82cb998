// Runs s3rver in its own node, started with --openssl-legacy-provider: s3rver encrypts
// ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers from the legacy
// provider. Arguments: <directory> <bucket>...; prints {"port": n} once listening.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import S3rver from 's3rver';

const [directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name })),
});

// s3rver 3.7 falls short of S3 in three places the adapters rely on; answer as S3 does:
// - If-None-Match: * on PUT (conditional create) is ignored: answer 412 PreconditionFailed;
// - AbortMultipartUpload (DELETE ?uploadId) is not implemented: remove the upload, 204;
// - parts and completions for an unknown upload id are accepted or fail with a 500:
//   answer 404 NoSuchUpload.
const s3Error = (ctx, status, code, message) => {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
};
server.middleware.splice(1, 0, async (ctx, next) => {
  const [bucket, ...rest] = ctx.path.slice(1).split('/');
  const key = decodeURIComponent(rest.join('/'));
  if (!bucket || !key) return next();
  const uploadId = ctx.query.uploadId;
  if (typeof uploadId === 'string') {
    const uploadDir = join(server.store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
    if (!existsSync(uploadDir)) {
      return s3Error(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
    }
    if (ctx.method === 'DELETE') {
      await rm(uploadDir, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
  } else if (ctx.method === 'PUT' && !ctx.get('x-amz-copy-source') && ctx.get('if-none-match') === '*') {
    if (await server.store.existsObject(bucket, key)) {
      return s3Error(
        ctx,
        412,
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
      );
    }
  }
  return next();
});

const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
// Exit with the parent: a closed stdin means the test run is over.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
