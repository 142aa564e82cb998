import { InvalidParameterError } from '../../platform/errors';
import { bind, HttpResult, type RequestContext, type RouteBinding } from '../../platform/http/route';
import { checkRelativePath, parseProxiedPath } from '../artifacts/artifact-paths';
import type { ArtifactService } from '../artifacts/artifact-service';
import { LocalArtifactSigner } from '../artifacts/local-signer';
import type { ArtifactSigner } from '../artifacts/signer';
import * as a from './artifact-routes';

export const PRESIGN_EXPIRES_SECONDS = 900;

export interface ArtifactDeps {
  readonly artifacts: ArtifactService;
  /** The signer for this request (the local one needs the caller's view of the API's address). */
  signerFor(ctx: RequestContext): ArtifactSigner;
}

/** The multipart body's `path`, when sent, must name the same file as the URL. */
function samePath(proxy: string, path: string | undefined): string {
  if (path !== undefined && path !== '' && checkRelativePath(path) !== checkRelativePath(proxy)) {
    throw new InvalidParameterError(`Body path '${path}' does not match the URL path '${proxy}'`);
  }
  return parseProxiedPath(proxy).key;
}

/** Binds the artifact proxy and presigned-URL endpoints. */
export function artifactBindings(d: ArtifactDeps): RouteBinding[] {
  return [
    bind(a.downloadArtifact, async (req) => new HttpResult(200, await d.artifacts.download(req.proxy))),
    bind(a.uploadArtifact, async (req, ctx) => {
      const body = ctx.rawBody ?? new Uint8Array();
      if (req.upload_id !== undefined || req.part_number !== undefined) {
        const signer = d.signerFor(ctx);
        if (!(signer instanceof LocalArtifactSigner) || !req.upload_id || !req.part_number) {
          throw new InvalidParameterError(
            'Multipart parts go to the presigned part URLs mpu/create answered',
          );
        }
        parseProxiedPath(req.proxy);
        const etag = await signer.putPart(req.upload_id, req.part_number, body);
        return new HttpResult(200, '{}', { etag });
      }
      await d.artifacts.upload(req.proxy, body);
      return {};
    }),
    bind(a.deleteArtifact, async (req) => {
      await d.artifacts.delete(req.proxy);
      return {};
    }),
    bind(a.listProxiedArtifacts, async (req) => ({ files: await d.artifacts.listProxied(req.path) })),
    bind(a.createMultipartUpload, async (req, ctx) => {
      const key = samePath(req.proxy, req.path);
      const res = await d.signerFor(ctx).createMultipart(key, req.num_parts, PRESIGN_EXPIRES_SECONDS);
      return { upload_id: res.uploadId, credentials: res.parts };
    }),
    bind(a.completeMultipartUpload, async (req, ctx) => {
      const key = samePath(req.proxy, req.path);
      await d.signerFor(ctx).completeMultipart(key, req.upload_id, req.parts);
      return {};
    }),
    bind(a.abortMultipartUpload, async (req, ctx) => {
      const key = samePath(req.proxy, req.path);
      await d.signerFor(ctx).abortMultipart(key, req.upload_id);
      return {};
    }),
    bind(a.presignArtifact, async (req, ctx) => {
      const key = parseProxiedPath(req.proxy).key;
      const url = await d.signerFor(ctx).presign(key, req.method, PRESIGN_EXPIRES_SECONDS);
      return { url, method: req.method, expires_in: PRESIGN_EXPIRES_SECONDS };
    }),
  ];
}
