import type { RegistryDefinitions } from './repo';

/** One change `apply` would make. */
export interface Change {
  readonly action: 'add' | 'change' | 'remove';
  readonly kind: keyof RegistryDefinitions;
  readonly name: string;
  /** Top-level fields that differ, for `change`. */
  readonly fields?: readonly string[];
}

/**
 * Diffs definitions on disk against the stored registry by kind and name; a changed object
 * lists the fields that differ. Empty when nothing would change.
 *
 * @example
 * for (const c of diffDefinitions(stored?.definitions, repo.definitions)) console.log(formatChange(c));
 */
export function diffDefinitions(
  before: RegistryDefinitions | undefined,
  after: RegistryDefinitions,
): Change[] {
  const out: Change[] = [];
  const kinds = Object.keys(after) as (keyof RegistryDefinitions)[];
  for (const kind of kinds) {
    const old = new Map<string, Record<string, unknown>>(
      ((before?.[kind] ?? []) as { name: string }[]).map((x) => [x.name, x as Record<string, unknown>]),
    );
    const cur = new Map<string, Record<string, unknown>>(
      (after[kind] as { name: string }[]).map((x) => [x.name, x as Record<string, unknown>]),
    );
    for (const [name, obj] of cur) {
      const prev = old.get(name);
      if (!prev) out.push({ action: 'add', kind, name });
      else {
        const fields = [...new Set([...Object.keys(prev), ...Object.keys(obj)])].filter(
          (f) => JSON.stringify(prev[f]) !== JSON.stringify(obj[f]),
        );
        if (fields.length > 0) out.push({ action: 'change', kind, name, fields: fields.sort() });
      }
    }
    for (const name of old.keys()) if (!cur.has(name)) out.push({ action: 'remove', kind, name });
  }
  return out;
}

/** One line per change: `+ featureViews purchases`, `~ sources p (columns, path)`, `- ...`. */
export function formatChange(c: Change): string {
  const sign = c.action === 'add' ? '+' : c.action === 'remove' ? '-' : '~';
  return `${sign} ${c.kind} ${c.name}${c.fields ? ` (${c.fields.join(', ')})` : ''}`;
}
