import { readdir, readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { InvalidParameterError } from '../../platform/errors';
import { type Definition, isDefinition } from './define';
import { buildRepo, type FeatureRepo, formatZodError } from './repo';
import { DefinitionsFileSchema, type OnDemandTransform } from './schema';

const KIND_LIST = {
  entity: 'entities',
  source: 'sources',
  featureView: 'featureViews',
  onDemandFeatureView: 'onDemandFeatureViews',
  featureService: 'featureServices',
} as const;

/**
 * Loads and validates a feature repo folder: every `*.yaml`, `*.yml` and `*.json` file
 * (the `DefinitionsFileSchema` shape) and every `*.ts` module exporting definitions made with
 * the helpers of `define.ts` (imported dynamically; we run under tsx). Subfolders are not read,
 * so data files and fixtures may sit beside the definitions. A file's own schema errors name
 * the file.
 *
 * @example
 * const repo = await loadRepo('lambdas/features/examples/repo');
 */
export async function loadRepo(dir: string): Promise<FeatureRepo> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort();
  } catch {
    throw new InvalidParameterError(`feature repo folder '${dir}' cannot be read; pass --repo <dir>`);
  }
  const merged: Record<(typeof KIND_LIST)[keyof typeof KIND_LIST], unknown[]> = {
    entities: [],
    sources: [],
    featureViews: [],
    onDemandFeatureViews: [],
    featureServices: [],
  };
  const transforms = new Map<string, OnDemandTransform>();
  for (const name of names) {
    const path = join(dir, name);
    const ext = extname(name).toLowerCase();
    if (ext === '.yaml' || ext === '.yml' || ext === '.json') {
      const text = await readFile(path, 'utf8');
      let doc: unknown;
      try {
        doc = ext === '.json' ? JSON.parse(text) : parseYaml(text);
      } catch (err) {
        throw new InvalidParameterError(
          `${name}: not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
        );
      }
      const parsed = DefinitionsFileSchema.safeParse(doc ?? {});
      if (!parsed.success) throw new InvalidParameterError(`${name}: ${formatZodError(parsed.error)}`);
      for (const [k, list] of Object.entries(parsed.data))
        merged[k as keyof typeof merged].push(...(list as unknown[]));
    } else if (ext === '.ts' && !name.endsWith('.d.ts') && !name.endsWith('.test.ts')) {
      const mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
      for (const value of Object.values(mod)) {
        if (!isDefinition(value)) continue;
        const d = value as Definition;
        merged[KIND_LIST[d.defKind]].push(d.def);
        if (d.defKind === 'onDemandFeatureView') {
          const n = (d.def as { name: string }).name;
          if (typeof d.transform !== 'function')
            throw new InvalidParameterError(
              `${name}: on-demand feature view '${n}' needs a transform function`,
            );
          transforms.set(n, d.transform);
        }
      }
    }
  }
  return buildRepo({ file: merged, transforms });
}
