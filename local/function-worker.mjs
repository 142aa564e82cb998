// Runs a Lambda handler module in its own worker thread, as Lambda runs a function in its
// own sandbox: own environment variables, own module state, own cold start. Functions
// of the template with the same module and the same environment share one sandbox.

import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();

const serializeError = (err) => ({
  errorType: err?.name ?? 'Error',
  errorMessage: err?.message ?? String(err),
  stack: err?.stack,
});

// Replies produced in one turn of the event loop cross in one message, as requests do.
let outbox = [];
const reply = (message) => {
  outbox.push(message);
  if (outbox.length === 1) {
    setImmediate(() => {
      const items = outbox;
      outbox = [];
      parentPort.postMessage(items.length === 1 ? items[0] : { type: 'batch', items });
    });
  }
};

// Stdout lines cross with the replies, in order: a line written before the handler returned
// reaches the host before its result does, as CloudWatch Logs has it once the invocation ends.
if (workerData.captureStdout) {
  let rest = '';
  process.stdout.write = (chunk, encoding, callback) => {
    const text = rest + (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    const end = text.lastIndexOf('\n');
    rest = text.slice(end + 1);
    if (end >= 0) reply({ type: 'log', text: text.slice(0, end) });
    const done = typeof encoding === 'function' ? encoding : callback;
    if (done) queueMicrotask(done);
    return true;
  };
}

let mod;
try {
  mod = await import(pathToFileURL(workerData.entryPath).href);
  const missing = workerData.handlers.filter((h) => typeof mod[h] !== 'function');
  if (missing.length) throw new Error(`${workerData.entryPath} exports no function ${missing.join(', ')}`);
  parentPort.postMessage({ type: 'ready' });
} catch (err) {
  parentPort.postMessage({ type: 'init-error', error: serializeError(err) });
}

// Loaded through tsx like the handler: the same event builder the gateway documents.
const { toProxyEvent } = await import(new URL('./proxy-event.ts', import.meta.url).href);

async function invoke({ id, handler, kind, event, context }) {
  const deadline = Date.now() + context.timeoutMs;
  const startedAt = performance.timeOrigin + performance.now();
  try {
    const input = kind === 'http' ? toProxyEvent(event) : JSON.parse(event);
    const result = await mod[handler](input, {
      ...context,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      callbackWaitsForEmptyEventLoop: false,
    });
    reply({
      type: 'result',
      id,
      // A proxy response is a small flat object: it crosses as is.
      result: kind === 'http' || result === undefined ? result : JSON.stringify(result),
      timing: [startedAt, performance.timeOrigin + performance.now()],
    });
  } catch (err) {
    reply({
      type: 'error',
      id,
      error: serializeError(err),
      timing: [startedAt, performance.timeOrigin + performance.now()],
    });
  }
}

parentPort.on('message', (msg) => {
  if (msg.type === 'batch') for (const item of msg.items) void invoke(item);
  else void invoke(msg);
});
