import type { StoryContext } from './context';

/** One answered predict request: whose entities, which version scored them, what it said. */
export interface Served {
  readonly requestId: string;
  readonly users: readonly number[];
  readonly status: number;
  readonly version?: string;
  readonly arm?: string;
  readonly predictions: readonly number[];
}

/** A request per `batch` users: `POST /v1/models/{name}/predict` with entity keys (features read online). */
async function predict(ctx: StoryContext, users: readonly number[], unit?: string): Promise<Served> {
  const res = await ctx.api('POST', `/v1/models/${encodeURIComponent(ctx.facts.model)}/predict`, {
    entities: { user_id: users },
    ...(unit ? { unit_id: unit } : {}),
  });
  return {
    requestId: String(res.json.request_id ?? ''),
    users,
    status: res.status,
    ...(res.json.model_version ? { version: String(res.json.model_version) } : {}),
    ...(res.json.arm ? { arm: String(res.json.arm) } : {}),
    predictions: Array.isArray(res.json.predictions) ? res.json.predictions : [],
  };
}

/**
 * Sends the users' entity keys through the API, `batch` per request, `concurrency` requests
 * at a time, and returns every answer. With `perUnit` each request is one user, named as the
 * experiment unit (`unit_id`), as an application running an A/B test sends it.
 */
export async function serve(
  ctx: StoryContext,
  users: readonly number[],
  opts: { batch?: number; concurrency?: number; perUnit?: boolean } = {},
): Promise<Served[]> {
  const batch = opts.perUnit ? 1 : (opts.batch ?? 5);
  const requests: number[][] = [];
  for (let i = 0; i < users.length; i += batch) requests.push(users.slice(i, i + batch));
  const out: Served[] = [];
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const r = requests[next++] as number[];
      out.push(await predict(ctx, r, opts.perUnit ? String(r[0]) : undefined));
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 2 }, worker));
  ctx.facts.predictions += out.filter((s) => s.status === 200).length;
  return out;
}

/**
 * Keeps traffic flowing over the users (cycling) while `work` runs, as live clients would
 * during a canary, and returns both.
 */
export async function underTraffic<T>(
  ctx: StoryContext,
  users: readonly number[],
  work: () => Promise<T>,
  opts: { batch?: number; concurrency?: number } = {},
): Promise<{ result: T; served: Served[] }> {
  let done = false;
  const served: Served[] = [];
  const batch = opts.batch ?? 5;
  const client = async (k: number) => {
    for (let i = k * batch * 7; !done; i += batch) {
      const at = i % users.length;
      const picked = [...users.slice(at, at + batch)];
      try {
        served.push(await predict(ctx, picked.length ? picked : users.slice(0, batch)));
      } catch {
        // The gateway went away (the platform is stopping): the clients stop with it.
        return;
      }
      // Paced, so the machine keeps time for the workflow itself.
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const clients = Array.from({ length: opts.concurrency ?? 2 }, (_, k) => client(k));
  try {
    return { result: await work(), served };
  } finally {
    done = true;
    await Promise.all(clients);
    ctx.facts.predictions += served.filter((s) => s.status === 200).length;
  }
}

/** Answers per status and version, e.g. `200 v1: 140, 404: 12`. */
export function tally(served: readonly Served[]): string {
  const counts = new Map<string, number>();
  for (const s of served) {
    const key = s.status === 200 ? `v${s.version}` : `HTTP ${s.status}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].map(([k, n]) => `${k}: ${n}`).join(', ');
}
