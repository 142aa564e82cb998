import { GlueClient } from '@aws-sdk/client-glue';
import { awsClients } from '../../platform/aws-clients';
import { InvalidParameterError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import type { SqlEngine } from '../offline/sql-engine';
import type { TrainingSetBuilder } from '../offline/training-set';
import { AthenaEngine } from './athena-engine';
import { buildTrainingSetOnAthena } from './athena-training-set';
import { GlueTableCatalog } from './glue-catalog';
import type { TableCatalog } from './table-catalog';

/** Where the feature store lives on AWS. */
export interface AthenaSettings {
  readonly workGroup: string;
  readonly database: string;
  readonly bucket: string;
}

/**
 * The AWS settings when Athena is asked for (`--athena`, or `MLOPS_ATHENA_WORKGROUP` set):
 * workgroup `MLOPS_ATHENA_WORKGROUP`, Glue database `MLOPS_FEATURES_DATABASE`, features
 * bucket `MLOPS_FEATURES_BUCKET`. Undefined when neither asks for Athena; a missing variable
 * is an error naming it.
 *
 * @example
 * const s = athenaSettings(true, { MLOPS_ATHENA_WORKGROUP: 'features-prod', MLOPS_FEATURES_DATABASE: 'features_prod', MLOPS_FEATURES_BUCKET: 'b' });
 */
export function athenaSettings(
  flag: boolean | undefined,
  env: NodeJS.ProcessEnv = process.env,
): AthenaSettings | undefined {
  if (!flag && !env.MLOPS_ATHENA_WORKGROUP) return undefined;
  const missing = ['MLOPS_ATHENA_WORKGROUP', 'MLOPS_FEATURES_DATABASE', 'MLOPS_FEATURES_BUCKET'].filter(
    (k) => !env[k],
  );
  if (missing.length > 0)
    throw new InvalidParameterError(
      `Athena mode needs ${missing.join(', ')} (the workgroup features-<stage>, the Glue database features_<stage> and the features bucket)`,
    );
  return {
    workGroup: String(env.MLOPS_ATHENA_WORKGROUP),
    database: String(env.MLOPS_FEATURES_DATABASE),
    bucket: String(env.MLOPS_FEATURES_BUCKET),
  };
}

/** The AWS adapters behind the feature store's ports: S3 store, Glue catalog, Athena engine. */
export interface AthenaBackend {
  readonly settings: AthenaSettings;
  readonly store: ObjectStore;
  readonly catalog: TableCatalog;
  readonly athena: SqlEngine;
}

/** Builds the adapters from settings (region and endpoints from the usual AWS variables). */
export function athenaBackend(settings: AthenaSettings, env: NodeJS.ProcessEnv = process.env): AthenaBackend {
  const clients = awsClients(env);
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  return {
    settings,
    store: clients.objectStore,
    catalog: new GlueTableCatalog(
      new GlueClient({ region, endpoint: env.AWS_ENDPOINT_URL_GLUE || undefined }),
    ),
    athena: new AthenaEngine({
      client: clients.athena,
      workGroup: settings.workGroup,
      database: settings.database,
    }),
  };
}

/**
 * The offline-engine port on AWS: Athena joins over the offline store in S3, with the same
 * request and result as the local DuckDB builder (the local engine still checks entity rows).
 *
 * @example
 * const build = athenaTrainingSets(settings, athenaBackend(settings));
 * const r = await build(deps, { entityRows: 'rows.csv', featureService: 'fraud_v1', output: 'ts.parquet', id: 'exec-1' });
 */
export function athenaTrainingSets(
  settings: AthenaSettings,
  backend: Pick<AthenaBackend, 'catalog' | 'athena'>,
): TrainingSetBuilder {
  return (deps, req) =>
    buildTrainingSetOnAthena(
      { ...deps, database: settings.database, catalog: backend.catalog, athena: backend.athena },
      req,
    );
}
