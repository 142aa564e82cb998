import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { basename } from 'node:path';

/** Where a run came from, given or discovered. */
export interface RunContext {
  /** Digest of the training data (e.g. the training set's sha256). */
  datasetDigest?: string;
  /** Commit of the code; default: `git rev-parse HEAD` in `cwd`, omitted outside a repository. */
  gitCommit?: string;
  /** `mlflow.source.name`; default: the entry script's file name. */
  sourceName?: string;
  /** `mlflow.source.type`: MLflow's LOCAL, JOB, PROJECT, NOTEBOOK; default LOCAL. */
  sourceType?: 'LOCAL' | 'JOB' | 'PROJECT' | 'NOTEBOOK';
  /** `mlflow.user`; default: the OS user. */
  user?: string;
  /** Folder to ask git in; default the working directory. */
  cwd?: string;
}

/**
 * The tags that make a run reproducible, under MLflow's standard names so MLflow's UI and
 * clients show them: `mlflow.source.git.commit`, `mlflow.source.name`, `mlflow.source.type`,
 * `mlflow.user`, plus `mlops.runtime.node`, `mlops.runtime.platform` and
 * `mlops.dataset.digest`. Unknown values are left out rather than written empty.
 *
 * @example
 * await tracking.createRun({ experimentId, tags: runContextTags({ datasetDigest: set.digest }) });
 */
export function runContextTags(ctx: RunContext = {}): Record<string, string> {
  const tags: Record<string, string> = {};
  const commit = ctx.gitCommit ?? gitHead(ctx.cwd);
  if (commit) tags['mlflow.source.git.commit'] = commit;
  const source = ctx.sourceName ?? (process.argv[1] ? basename(process.argv[1]) : undefined);
  if (source) tags['mlflow.source.name'] = source;
  tags['mlflow.source.type'] = ctx.sourceType ?? 'LOCAL';
  const user = ctx.user ?? osUser();
  if (user) tags['mlflow.user'] = user;
  tags['mlops.runtime.node'] = process.version;
  tags['mlops.runtime.platform'] = `${process.platform}-${process.arch}`;
  if (ctx.datasetDigest) tags['mlops.dataset.digest'] = ctx.datasetDigest;
  return tags;
}

/** The checked-out commit, or undefined when git or a repository is missing. */
function gitHead(cwd?: string): string | undefined {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd,
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    });
    const sha = out.toString().trim();
    return /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}

function osUser(): string | undefined {
  try {
    return process.env.USER ?? process.env.USERNAME ?? userInfo().username;
  } catch {
    return undefined;
  }
}
