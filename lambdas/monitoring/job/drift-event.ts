/**
 * The event the drift job publishes when a served model version drifts, and the training
 * pipeline's drift rule (lib/pipeline/training-pipeline.ts) starts a retraining on. Its
 * detail: `model`, `version`, `reason` (what drifted, the retraining's reason), `driftedShare`,
 * `maxPsi`, `predictionPsi` and `report` (the run's report key in the monitoring bucket).
 */
export const DRIFT_EVENT = { source: 'mlops.monitoring', detailType: 'DriftDetected' } as const;
