/**
 * Names the SageMaker backend's CDK construct and its functions share; no imports, so
 * `cdk synth` loads nothing heavy.
 */

/** Where a version's Triton model repository lives in the artifacts bucket: `<prefix><model>/<version>/`. */
export const TRITON_PREFIX = 'serving/triton/';

/**
 * The S3 key prefix of one version's model repository (what a SageMaker Model's data source names).
 *
 * @example
 * tritonRepositoryPrefix('churn', '3'); // 'serving/triton/churn/3/'
 */
export function tritonRepositoryPrefix(model: string, version: string): string {
  return `${TRITON_PREFIX}${model}/${version}/`;
}

/** The model container's variable naming the registered version it serves. */
export const MODEL_VERSION_VARIABLE = 'MLOPS_MODEL_VERSION';

/** The endpoint's two production variants: versions alternate between them, as on the Lambda backend. */
export const SAGEMAKER_VARIANTS = ['blue', 'green'] as const;
