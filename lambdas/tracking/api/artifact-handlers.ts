import { InvalidParameterError } from '../../platform/errors';
import { bind, HttpResult, type RequestContext, type RouteBinding } from '../../platform/http/route';
import { ArtifactGuards } from '../artifacts/artifact-guards';
import { checkRelativePath, parseProxiedPath } from '../artifacts/artifact-paths';
import type { ArtifactService } from '../artifacts/artifact-service';
import type { ArtifactSigner } from '../artifacts/signer';
import type { RegistryService } from '../domain/registry';
import type { RunService } from '../domain/runs';
import * as a from './artifact-routes';

export const PRESIGN_EXPIRES_SECONDS = 900;

export interface ArtifactDeps {
  readonly artifacts: ArtifactService;
  /** The signer for this request (the local one needs the caller's view of the API's address). */
  signerFor(ctx: RequestContext): ArtifactSigner;
  readonly runs: Pick<RunService, 'get'>;
  readonly registry: Pick<RegistryService, 'listModels' | 'listVersions' | 'getVersion' | 'getByAlias'>;
}

/** The multipart body's `path`, when sent, must name the same file as the URL. */
function samePath(proxy: string, path: string | undefined): string {
  if (path !== undefined && path !== '' && checkRelativePath(path) !== checkRelativePath(proxy)) {
    throw new InvalidParameterError(`Body path '${path}' does not match the URL path '${proxy}'`);
  }
  return proxy;
}

/** Binds the artifact proxy and presigned-URL endpoints. */
export function artifactBindings(d: ArtifactDeps): RouteBinding[] {
  const guards = new ArtifactGuards(
    {
      getRun: (id) => d.runs.get(id),
      listModels: () => d.registry.listModels(),
      listVersions: (name) => d.registry.listVersions(name),
      getVersion: (name, version) => d.registry.getVersion(name, version),
      getByAlias: (name, alias) => d.registry.getByAlias(name, alias),
    },
    d.artifacts.bucket,
  );

  /** Every check a write of one file passes, however its bytes arrive; answers its key. */
  const checkWrite = async (path: string): Promise<string> => {
    const p = parseProxiedPath(path);
    await guards.checkRun(p);
    await d.artifacts.writable(path);
    await guards.checkNotRegistered(await d.artifacts.keysUnder(path));
    return p.key;
  };

  return [
    bind(a.downloadArtifact, async (req, ctx) => {
      const found = await d.artifacts.download(req.proxy, a.INLINE_ARTIFACT_MAX_BYTES);
      if ('bytes' in found) return new HttpResult(200, found.bytes);
      // Too large for a function's 6 MB response: the client fetches it from the store.
      const url = await d.signerFor(ctx).presign(found.key, 'GET', PRESIGN_EXPIRES_SECONDS);
      return new HttpResult(307, '', { location: url, 'cache-control': 'no-store' });
    }),
    bind(a.uploadArtifact, async (req, ctx) => {
      if (req.upload_id !== undefined || req.part_number !== undefined) {
        throw new InvalidParameterError('Multipart parts go to the presigned part URLs mpu/create answered');
      }
      await checkWrite(req.proxy);
      await d.artifacts.upload(req.proxy, ctx.rawBody ?? new Uint8Array());
      return {};
    }),
    bind(a.deleteArtifact, async (req) => {
      await guards.checkNotRegistered(await d.artifacts.keysUnder(req.proxy));
      await d.artifacts.delete(req.proxy);
      return {};
    }),
    bind(a.listProxiedArtifacts, async (req) => ({ files: await d.artifacts.listProxied(req.path) })),
    bind(a.createMultipartUpload, async (req, ctx) => {
      const key = await checkWrite(samePath(req.proxy, req.path));
      const res = await d.signerFor(ctx).createMultipart(key, req.num_parts, PRESIGN_EXPIRES_SECONDS);
      return { upload_id: res.uploadId, credentials: res.parts };
    }),
    bind(a.completeMultipartUpload, async (req, ctx) => {
      const path = samePath(req.proxy, req.path);
      const key = parseProxiedPath(path).key;
      // A file registered since mpu/create must not be replaced now.
      await guards.checkNotRegistered(await d.artifacts.keysUnder(path));
      await d.signerFor(ctx).completeMultipart(key, req.upload_id, req.parts);
      return {};
    }),
    bind(a.abortMultipartUpload, async (req, ctx) => {
      const key = parseProxiedPath(samePath(req.proxy, req.path)).key;
      await d.signerFor(ctx).abortMultipart(key, req.upload_id);
      return {};
    }),
    bind(a.presignArtifact, async (req, ctx) => {
      const key = req.method === 'PUT' ? await checkWrite(req.proxy) : parseProxiedPath(req.proxy).key;
      const url = await d.signerFor(ctx).presign(key, req.method, PRESIGN_EXPIRES_SECONDS);
      return { url, method: req.method, expires_in: PRESIGN_EXPIRES_SECONDS };
    }),
  ];
}
