import { z } from 'zod';
import { ConflictError, InvalidStateError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import { buildRepo, type FeatureRepo, formatZodError, RegistryDefinitionsSchema } from './repo';

/** Where the registry lives in the features bucket; every function reads this key. */
export const REGISTRY_KEY = 'registry/registry.json';

/** The stored registry: the validated definitions with a serial that grows by one per apply. */
export const RegistryDocumentSchema = z.strictObject({
  formatVersion: z.literal(1),
  serial: z.number().int().positive(),
  appliedAt: z.string(),
  definitions: RegistryDefinitionsSchema,
});
export type RegistryDocument = z.infer<typeof RegistryDocumentSchema>;

/**
 * Reads the stored registry, or undefined before the first apply. A document that does not
 * match the schema is reported, not guessed at.
 *
 * @example
 * const doc = await readRegistry(store, 'features');
 */
export async function readRegistry(
  store: ObjectStore,
  bucket: string,
): Promise<RegistryDocument | undefined> {
  const body = await store.get(bucket, REGISTRY_KEY);
  if (!body) return undefined;
  const parsed = RegistryDocumentSchema.safeParse(JSON.parse(new TextDecoder().decode(body)));
  if (!parsed.success)
    throw new InvalidStateError(`stored registry is invalid: ${formatZodError(parsed.error)}`);
  return parsed.data;
}

/** The stored registry as a validated repo (without on-demand transforms, which live in code). */
export async function loadRegistryRepo(store: ObjectStore, bucket: string): Promise<FeatureRepo | undefined> {
  const doc = await readRegistry(store, bucket);
  return doc ? buildRepo({ file: doc.definitions }) : undefined;
}

/**
 * Stores a validated repo as the next registry version. Each version is first created under
 * `registry/versions/<serial>.json` with an if-none-match PUT, so two concurrent applies
 * cannot both take the same serial; the loser gets a ConflictError and may retry. Then the
 * well-known key is replaced (one atomic PUT).
 *
 * @example
 * const doc = await writeRegistry(store, 'features', repo, previous?.serial ?? 0);
 */
export async function writeRegistry(
  store: ObjectStore,
  bucket: string,
  repo: FeatureRepo,
  expectedSerial: number,
  now: Date = new Date(),
): Promise<RegistryDocument> {
  const doc: RegistryDocument = {
    formatVersion: 1,
    serial: expectedSerial + 1,
    appliedAt: now.toISOString(),
    definitions: repo.definitions,
  };
  const body = JSON.stringify(doc, null, 2);
  const created = await store.put(
    bucket,
    `registry/versions/${String(doc.serial).padStart(8, '0')}.json`,
    body,
    {
      contentType: 'application/json',
      ifNoneMatch: true,
    },
  );
  if (!created)
    throw new ConflictError(
      `registry version ${doc.serial} was written by someone else; run plan again and re-apply`,
    );
  await store.put(bucket, REGISTRY_KEY, body, { contentType: 'application/json' });
  return doc;
}
