import { InvalidParameterError, NotFoundError } from '../../platform/errors';
import { type FeatureRepo, type ResolvedView, resolveViewFeature, type ViewFeature } from './repo';
import type { ValueType } from './schema';

/** One requested output column of a training set. */
export type SelectedFeature =
  | (ViewFeature & { readonly output: string; readonly hidden: boolean })
  | {
      readonly kind: 'onDemand';
      readonly view: string;
      readonly name: string;
      readonly type: ValueType;
      readonly output: string;
      readonly hidden: false;
    };

/** What a training set asks for, resolved against a repo. */
export interface FeatureSelection {
  /** In request order; hidden entries are inputs of on-demand views that were not requested. */
  readonly features: readonly SelectedFeature[];
  readonly views: readonly ResolvedView[];
  readonly onDemandViews: readonly string[];
}

/**
 * Resolves feature references (`view:feature`, or `view` for all of a view's features) or a
 * feature service into the features to compute, in request order. Output columns are named by
 * the feature, or `view__feature` with `fullFeatureNames`; a name used twice is rejected.
 *
 * @example
 * selectFeatures(repo, { features: ['purchases:amount', 'purchases:purchase_count_30d'] });
 */
export function selectFeatures(
  repo: FeatureRepo,
  request: { features?: readonly string[]; featureService?: string; fullFeatureNames?: boolean },
): FeatureSelection {
  let refs: readonly string[];
  if (request.featureService !== undefined) {
    const svc = repo.services.get(request.featureService);
    if (!svc) {
      throw new NotFoundError(
        `feature service '${request.featureService}' not found; known: ${[...repo.services.keys()].join(', ') || '(none)'}`,
      );
    }
    refs = svc.features;
  } else refs = request.features ?? [];
  if (refs.length === 0)
    throw new InvalidParameterError('no features requested: pass features or a feature service');

  const expanded: string[] = [];
  for (const ref of refs) {
    if (ref.includes(':')) expanded.push(ref);
    else {
      const v = repo.views.get(ref);
      const o = repo.onDemand.get(ref);
      if (v) expanded.push(...[...v.def.features, ...v.aggregations].map((f) => `${ref}:${f.name}`));
      else if (o) expanded.push(...o.def.schema.map((f) => `${ref}:${f.name}`));
      else
        throw new InvalidParameterError(
          `unknown feature view '${ref}'; known: ${[...repo.views.keys(), ...repo.onDemand.keys()].join(', ')}`,
        );
    }
  }
  const outName = (view: string, name: string): string =>
    request.fullFeatureNames ? `${view}__${name}` : name;
  const features: SelectedFeature[] = [];
  const seenRef = new Set<string>();
  const onDemandViews: string[] = [];
  for (const ref of expanded) {
    if (seenRef.has(ref)) continue;
    seenRef.add(ref);
    const [viewName = '', name = ''] = ref.split(':');
    const od = repo.onDemand.get(viewName);
    if (od) {
      const f = od.def.schema.find((s) => s.name === name);
      if (!f)
        throw new InvalidParameterError(
          `unknown feature '${name}' in on-demand view '${viewName}'; it has: ${od.def.schema.map((s) => s.name).join(', ')}`,
        );
      features.push({
        kind: 'onDemand',
        view: viewName,
        name,
        type: f.type,
        output: outName(viewName, name),
        hidden: false,
      });
      if (!onDemandViews.includes(viewName)) onDemandViews.push(viewName);
    } else {
      const vf = resolveViewFeature(ref, repo.views, 'features');
      features.push({ ...vf, output: outName(viewName, name), hidden: false });
    }
  }
  // On-demand inputs that were not requested are computed but left out of the output.
  for (const o of onDemandViews) {
    for (const ref of repo.onDemand.get(o)?.def.features ?? []) {
      if (seenRef.has(ref)) continue;
      seenRef.add(ref);
      const vf = resolveViewFeature(ref, repo.views, `on-demand feature view '${o}'`);
      features.push({ ...vf, output: `__in__${vf.view.def.name}__${vf.name}`, hidden: true });
    }
  }
  const byOutput = new Map<string, string>();
  for (const f of features) {
    const ref = `${f.kind === 'onDemand' ? f.view : f.view.def.name}:${f.name}`;
    const prev = byOutput.get(f.output);
    if (prev) {
      throw new InvalidParameterError(
        `duplicate column '${f.output}': both '${prev}' and '${ref}' produce it; request one, or use full feature names (view__feature)`,
      );
    }
    byOutput.set(f.output, ref);
  }
  const views = [...new Set(features.flatMap((f) => (f.kind === 'onDemand' ? [] : [f.view])))];
  return { features, views, onDemandViews };
}

/** The input of an on-demand view's transform for a feature reference (its feature name). */
export function viewFeatureOutput(
  selection: FeatureSelection,
  view: string,
  name: string,
): string | undefined {
  return selection.features.find((f) => f.kind !== 'onDemand' && f.view.def.name === view && f.name === name)
    ?.output;
}
