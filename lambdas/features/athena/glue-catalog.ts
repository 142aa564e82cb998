import {
  CreateTableCommand,
  DeleteTableCommand,
  type GlueClient,
  type TableInput,
  UpdateTableCommand,
} from '@aws-sdk/client-glue';
import type { GlueTableRequest } from './glue-tables';
import type { TableCatalog } from './table-catalog';

/**
 * The Glue Data Catalog behind the table-catalog port: CreateTable, or UpdateTable when the
 * table exists; DeleteTable ignoring a missing table.
 *
 * @example
 * const catalog = new GlueTableCatalog(new GlueClient({}));
 */
export class GlueTableCatalog implements TableCatalog {
  constructor(private readonly glue: GlueClient) {}

  async upsertTable(request: GlueTableRequest): Promise<void> {
    const input = { DatabaseName: request.DatabaseName, TableInput: request.TableInput as TableInput };
    try {
      await this.glue.send(new CreateTableCommand(input));
    } catch (err) {
      if ((err as { name?: string }).name !== 'AlreadyExistsException') throw err;
      await this.glue.send(new UpdateTableCommand(input));
    }
  }

  async dropTable(database: string, name: string): Promise<void> {
    try {
      await this.glue.send(new DeleteTableCommand({ DatabaseName: database, Name: name }));
    } catch (err) {
      if ((err as { name?: string }).name !== 'EntityNotFoundException') throw err;
    }
  }
}
