/**
 * The lifecycle report of the main job (`npm start`): read through the platform's public
 * APIs, rendered as one self-contained HTML page.
 *
 * @example
 * const html = renderLifecycleReport(await loadLifecycleReport({ apiUrl, modelName: 'purchase-propensity', runIds }));
 */
export { renderLifecycleReport } from './html';
export { type LifecycleReportOptions, loadLifecycleReport, type RequestSigner } from './load';
export type { LifecycleReportData } from './types';
