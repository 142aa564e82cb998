// Runs one Lambda function's handler module in its own worker thread, as Lambda runs
// it in its own sandbox: own environment variables, own module state, own cold start.

import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();

const serializeError = (err) => ({
  errorType: err?.name ?? 'Error',
  errorMessage: err?.message ?? String(err),
  stack: err?.stack,
});

let handler;
try {
  const mod = await import(pathToFileURL(workerData.entryPath).href);
  handler = mod[workerData.handler];
  if (typeof handler !== 'function') {
    throw new Error(`${workerData.entryPath} exports no function '${workerData.handler}'`);
  }
  parentPort.postMessage({ type: 'ready' });
} catch (err) {
  parentPort.postMessage({ type: 'init-error', error: serializeError(err) });
}

parentPort.on('message', async ({ id, event, context }) => {
  const deadline = Date.now() + context.timeoutMs;
  try {
    const result = await handler(JSON.parse(event), {
      ...context,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      callbackWaitsForEmptyEventLoop: false,
    });
    parentPort.postMessage({
      type: 'result',
      id,
      result: result === undefined ? undefined : JSON.stringify(result),
    });
  } catch (err) {
    parentPort.postMessage({ type: 'error', id, error: serializeError(err) });
  }
});
