import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { buildApp } from '../../lib/app';
import { resolvePlatformConfig } from '../../lib/config';

/** DuckDB's own view of a setting. */
async function setting(engine: DuckDbEngine, name: string): Promise<string> {
  const [row] = await engine.query(`SELECT current_setting('${name}')::VARCHAR AS v`);
  return String(row?.['v']);
}

describe('DuckDB in a Lambda function', () => {
  it('spills under /tmp and leaves the function memory headroom', async () => {
    const engine = await DuckDbEngine.create({}, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '2048' });
    try {
      expect(await setting(engine, 'temp_directory')).toBe(join(tmpdir(), 'duckdb'));
      // 2048 MiB less a quarter for Node and the handler.
      expect(await setting(engine, 'memory_limit')).toBe('1.5 GiB');
    } finally {
      engine.close();
    }
  });

  it('keeps at least 256 MiB for the handler in a small function', async () => {
    const engine = await DuckDbEngine.create({}, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512' });
    try {
      expect(await setting(engine, 'memory_limit')).toBe('256.0 MiB');
    } finally {
      engine.close();
    }
  });

  it("keeps DuckDB's defaults outside Lambda, unless configured", async () => {
    const plain = await DuckDbEngine.create({}, {});
    const configured = await DuckDbEngine.create(
      {},
      { MLOPS_DUCKDB_TEMP_DIRECTORY: join(tmpdir(), 'spill-here'), MLOPS_DUCKDB_MEMORY_LIMIT: '300MiB' },
    );
    try {
      expect(await setting(plain, 'temp_directory')).not.toContain(tmpdir());
      expect(await setting(configured, 'temp_directory')).toBe(join(tmpdir(), 'spill-here'));
      expect(await setting(configured, 'memory_limit')).toBe('300.0 MiB');
    } finally {
      plain.close();
      configured.close();
    }
  });

  it('lets an explicit option win over the runtime settings', async () => {
    const engine = await DuckDbEngine.create(
      { memoryLimit: '200MiB' },
      { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '4096' },
    );
    try {
      expect(await setting(engine, 'memory_limit')).toBe('200.0 MiB');
    } finally {
      engine.close();
    }
  });
});

describe('ephemeral storage of the functions that run DuckDB', () => {
  let template: Template;
  beforeAll(() => {
    const { stack } = buildApp(
      { stage: 'eph', ephemeralStorageMiB: 4096 },
      { nag: false, skipBundling: true },
    );
    template = Template.fromStack(stack);
  });

  /** Ephemeral storage by handler (`file.export`), for the functions whose handler matches. */
  function storageOf(handler: RegExp): Record<string, number | undefined> {
    const out: Record<string, number | undefined> = {};
    for (const [id, fn] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
      if (!handler.test(id)) continue;
      out[id] = fn.Properties.EphemeralStorage?.Size;
    }
    return out;
  }

  it('comes from the configuration on the pipeline steps that read data and on materialization', () => {
    const sized = storageOf(
      /TrainingPipeline(ValidateData|BuildTrainingSet|RunTrial|TrainCandidate)|OnlineMaterialize/,
    );
    expect(Object.keys(sized).length).toBeGreaterThanOrEqual(5);
    for (const [id, size] of Object.entries(sized)) expect(size, id).toBe(4096);
    // Steps that only call the platform API keep Lambda's default.
    for (const [id, size] of Object.entries(storageOf(/TrainingPipeline(StartRun|MarkFailed)/)))
      expect(size, id).toBeUndefined();
  });

  it('defaults to 2048 MiB and refuses what Lambda refuses, naming the field', () => {
    expect(resolvePlatformConfig({}).ephemeralStorageMiB).toBe(2048);
    expect(() => resolvePlatformConfig({ ephemeralStorageMiB: 256 })).toThrow(
      /ephemeralStorageMiB: .*at least 512/,
    );
    expect(() => resolvePlatformConfig({ ephemeralStorageMiB: 20_000 })).toThrow(
      /ephemeralStorageMiB: .*at most 10240/,
    );
  });
});
