import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateTableRequest$,
  DeleteTableRequest$,
  GlueClient,
  UpdateTableRequest$,
} from '@aws-sdk/client-glue';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GlueTableCatalog } from '../../../lambdas/features/athena/glue-catalog';
import { parquetTableInput, viewTables } from '../../../lambdas/features/athena/glue-tables';
import { buildRepo } from '../../../lambdas/features/definitions/repo';
import { clientConfig } from '../../../lambdas/platform/aws-clients';
import {
  type CannedResponse,
  modelViolations,
  type RecordedRequest,
  recordingTransport,
} from '../../support/sdk-transport';

const INPUT_SCHEMA: Record<string, unknown> = {
  CreateTable: CreateTableRequest$,
  UpdateTable: UpdateTableRequest$,
  DeleteTable: DeleteTableRequest$,
};

const repo = buildRepo({
  file: parse(
    await readFile(join(import.meta.dirname, '../../features/fixtures/pit-definitions.yaml'), 'utf8'),
  ),
});
const purchases = repo.views.get('purchases')!;

function catalogOn(respond: (req: RecordedRequest) => CannedResponse) {
  const t = recordingTransport(respond);
  const glue = new GlueClient({
    ...clientConfig('glue', { AWS_REGION: 'eu-west-1' }),
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    requestHandler: t.handler,
  });
  return { catalog: new GlueTableCatalog(glue), requests: t.requests };
}

const glueError = (type: string, message: string): CannedResponse => ({
  status: 400,
  body: { __type: type, Message: message },
});

function expectWellFormed(r: RecordedRequest): void {
  expect(r.hostname).toBe('glue.eu-west-1.amazonaws.com');
  expect(r.headers['x-amz-target']).toBe(`AWSGlue.${r.operation}`);
  expect(r.headers['content-type']).toBe('application/x-amz-json-1.1');
  expect(modelViolations(JSON.parse(r.body), INPUT_SCHEMA[r.operation ?? ''])).toEqual([]);
}

describe('Glue catalog on the SDK, with recorded AWS answers', () => {
  it('creates every table a view needs with a TableInput the Glue model accepts', async () => {
    const { catalog, requests } = catalogOn(() => ({ body: {} }));
    const tables = [
      ...viewTables(purchases, 'feat-bucket', 'features_prod'),
      parquetTableInput(
        'ts_entities_1',
        'features_prod',
        's3://feat-bucket/training/1/',
        [{ Name: 'user_id', Type: 'bigint' }],
        'entity rows',
      ),
    ];
    for (const t of tables) await catalog.upsertTable(t);
    expect(requests.map((r) => r.operation)).toEqual(['CreateTable', 'CreateTable', 'CreateTable']);
    requests.forEach(expectWellFormed);
    const sent = JSON.parse(requests[0]!.body);
    expect(sent.DatabaseName).toBe('features_prod');
    expect(sent.TableInput.Name).toBe('offline_purchases');
    expect(sent.TableInput.PartitionKeys).toEqual([{ Name: 'date', Type: 'string' }]);
    // The manifest table's one-column delimiter survives JSON serialization.
    expect(
      JSON.parse(requests[1]!.body).TableInput.StorageDescriptor.SerdeInfo.Parameters['field.delim'],
    ).toBe('\u0001');
  });

  it('updates the table when CreateTable answers AlreadyExistsException', async () => {
    const { catalog, requests } = catalogOn((req) =>
      req.operation === 'CreateTable'
        ? glueError('AlreadyExistsException', 'Table already exists.')
        : { body: {} },
    );
    const [table] = viewTables(purchases, 'feat-bucket', 'features_prod');
    await catalog.upsertTable(table!);
    expect(requests.map((r) => r.operation)).toEqual(['CreateTable', 'UpdateTable']);
    requests.forEach(expectWellFormed);
    expect(JSON.parse(requests[1]!.body).TableInput).toEqual(JSON.parse(requests[0]!.body).TableInput);
  });

  it('passes other CreateTable errors through instead of updating', async () => {
    const { catalog, requests } = catalogOn(() =>
      glueError('EntityNotFoundException', 'Database features_prod not found.'),
    );
    const [table] = viewTables(purchases, 'feat-bucket', 'features_prod');
    await expect(catalog.upsertTable(table!)).rejects.toMatchObject({ name: 'EntityNotFoundException' });
    expect(requests.map((r) => r.operation)).toEqual(['CreateTable']);
  });

  it('drops a table, and a table already gone is not an error', async () => {
    let deletes = 0;
    const { catalog, requests } = catalogOn(() =>
      ++deletes === 1
        ? { body: {} }
        : glueError('EntityNotFoundException', 'Table offline_purchases not found.'),
    );
    await catalog.dropTable('features_prod', 'offline_purchases');
    await catalog.dropTable('features_prod', 'offline_purchases');
    requests.forEach(expectWellFormed);
    expect(JSON.parse(requests[0]!.body)).toEqual({
      DatabaseName: 'features_prod',
      Name: 'offline_purchases',
    });
    const denied = catalogOn(() => glueError('AccessDeniedException', 'not allowed'));
    await expect(denied.catalog.dropTable('features_prod', 'x')).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });
});
