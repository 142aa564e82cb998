import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { glueTableInput, manifestTableInput } from '../../lambdas/features/athena/glue-tables';
import { catalogChanges } from '../../lambdas/features/athena/table-catalog';
import { buildRepo } from '../../lambdas/features/definitions/repo';
import { fixture } from './support';

const repo = buildRepo({ file: parse(await readFile(fixture('pit-definitions.yaml'), 'utf8')) });
const purchases = repo.views.get('purchases');
if (!purchases) throw new Error('fixture view missing');

describe('Glue tables of feature views', () => {
  it('types the columns from the source schema and partitions by date with projection over offline/<view>/', () => {
    const req = glueTableInput(purchases, 'feat-bucket', 'features_prod');
    expect(req.DatabaseName).toBe('features_prod');
    const t = req.TableInput;
    expect(t.Name).toBe('offline_purchases');
    expect(t.TableType).toBe('EXTERNAL_TABLE');
    expect(t.StorageDescriptor.Columns).toEqual([
      { Name: 'user_id', Type: 'bigint' },
      { Name: 'ts', Type: 'timestamp' },
      { Name: 'created', Type: 'timestamp' },
      { Name: 'amount', Type: 'double' },
      { Name: 'category', Type: 'string' },
    ]);
    expect(t.PartitionKeys).toEqual([{ Name: 'date', Type: 'string' }]);
    expect(t.StorageDescriptor.Location).toBe('s3://feat-bucket/offline/purchases/');
    expect(t.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe(
      'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    );
    expect(t.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.date.type': 'date',
      'projection.date.format': 'yyyy-MM-dd',
      'projection.date.range': '1970-01-01,NOW+1DAYS',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's projection placeholder
      'storage.location.template': 's3://feat-bucket/offline/purchases/date=${date}/',
    });
  });

  it('reads the manifests folder as whole text lines, so pretty-printed and one-line manifests both work', () => {
    const t = manifestTableInput(purchases, 'feat-bucket', 'features_prod').TableInput;
    expect(t.Name).toBe('manifests_purchases');
    expect(t.StorageDescriptor.Location).toBe('s3://feat-bucket/offline/purchases/_manifests/');
    expect(t.StorageDescriptor.Columns).toEqual([{ Name: 'line', Type: 'string' }]);
    expect(t.PartitionKeys).toEqual([]);
  });

  it('upserts both tables of every view and drops the tables of removed views only', () => {
    const without = buildRepo({
      file: {
        ...repo.definitions,
        featureViews: repo.definitions.featureViews.filter((v) => v.name !== 'risk'),
        featureServices: [],
      },
    });
    const changes = catalogChanges(without, repo, 'b', 'db');
    expect(changes.upserts.map((u) => u.TableInput.Name).sort()).toEqual([
      'manifests_profiles',
      'manifests_purchases',
      'offline_profiles',
      'offline_purchases',
    ]);
    expect(changes.drops).toEqual(['offline_risk', 'manifests_risk']);
    expect(catalogChanges(repo, undefined, 'b', 'db').drops).toEqual([]);
  });
});

describe('Athena settings', () => {
  it('stays local unless asked, and names every missing variable when asked', async () => {
    const { athenaSettings } = await import('../../lambdas/features/athena/athena-backend');
    expect(athenaSettings(undefined, {})).toBeUndefined();
    expect(() => athenaSettings(true, { MLOPS_FEATURES_BUCKET: 'b' })).toThrow(
      /MLOPS_ATHENA_WORKGROUP, MLOPS_FEATURES_DATABASE/,
    );
    expect(
      athenaSettings(undefined, {
        MLOPS_ATHENA_WORKGROUP: 'w',
        MLOPS_FEATURES_DATABASE: 'd',
        MLOPS_FEATURES_BUCKET: 'b',
      }),
    ).toEqual({
      workGroup: 'w',
      database: 'd',
      bucket: 'b',
    });
  });
});
