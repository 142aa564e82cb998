import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { assertSafeKey } from '../../platform/object-store';
import type { RunRecorder, RunStatus } from './run-recorder';

/**
 * Records a run on the local filesystem: `<root>/<runId>/run.json` (name, status, params,
 * tags, parent), `metrics.jsonl` (one `{key, value, step, timestamp}` per line) and
 * `artifacts/<path>`. Used by the CLI until the MLflow-backed recorder is wired in.
 *
 * @example
 * const run = await FsRunRecorder.start('.mlops/runs', 'train churn');
 * await run.logMetric('auc', 0.91);
 */
export class FsRunRecorder implements RunRecorder {
  private constructor(
    readonly root: string,
    readonly runId: string,
    private readonly meta: {
      name: string;
      status: string;
      startTime: number;
      endTime?: number;
      parentRunId?: string;
      params: Record<string, string>;
      tags: Record<string, string>;
    },
  ) {}

  /** Creates the run directory and returns a recorder for it. */
  static async start(root: string, name: string, parentRunId?: string): Promise<FsRunRecorder> {
    const runId = randomUUID().replaceAll('-', '');
    const rec = new FsRunRecorder(root, runId, {
      name,
      status: 'RUNNING',
      startTime: Date.now(),
      parentRunId,
      params: {},
      tags: parentRunId ? { 'mlflow.parentRunId': parentRunId } : {},
    });
    await mkdir(join(root, runId, 'artifacts'), { recursive: true });
    await rec.save();
    return rec;
  }

  get dir(): string {
    return join(this.root, this.runId);
  }

  private async save(): Promise<void> {
    await writeFile(
      join(this.dir, 'run.json'),
      `${JSON.stringify({ runId: this.runId, ...this.meta }, null, 2)}\n`,
    );
  }

  async logParams(params: Readonly<Record<string, string | number | boolean>>): Promise<void> {
    for (const [k, v] of Object.entries(params)) this.meta.params[k] = String(v);
    await this.save();
  }

  async logMetric(key: string, value: number, step = 0): Promise<void> {
    const line = JSON.stringify({
      key,
      value: Number.isFinite(value) ? value : String(value),
      step,
      timestamp: Date.now(),
    });
    await appendFile(join(this.dir, 'metrics.jsonl'), `${line}\n`);
  }

  async setTags(tags: Readonly<Record<string, string>>): Promise<void> {
    Object.assign(this.meta.tags, tags);
    await this.save();
  }

  async logArtifact(path: string, body: Uint8Array | string): Promise<void> {
    assertSafeKey(path);
    const target = join(this.dir, 'artifacts', path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, body);
  }

  async startChildRun(name: string): Promise<RunRecorder> {
    return FsRunRecorder.start(this.root, name, this.runId);
  }

  async end(status: RunStatus): Promise<void> {
    this.meta.status = status;
    this.meta.endTime = Date.now();
    await this.save();
  }

  /** Reads a run's metadata back (for tests and the CLI). */
  static async read(root: string, runId: string): Promise<Record<string, unknown>> {
    return JSON.parse(await readFile(join(root, runId, 'run.json'), 'utf8')) as Record<string, unknown>;
  }
}
