import { Worker } from 'node:worker_threads';

export interface LoadOptions {
  readonly url: string;
  readonly connections: number;
  readonly durationMs: number;
  readonly method?: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

export interface LoadResult {
  readonly requests: number;
  readonly rps: number;
  readonly non2xx: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

// The load generator runs in a worker thread so that it does not share an event loop
// with the server it measures; keep-alive connections, a fixed number in flight.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, connections, durationMs, method, body, headers } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const target = new URL(url);
const latencies = [];
let requests = 0, non2xx = 0;
const end = Date.now() + durationMs;
function one() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search,
      method, agent, headers }, (res) => {
      res.on('data', () => {});
      res.on('end', () => {
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        requests++; if (res.statusCode < 200 || res.statusCode >= 300) non2xx++;
        resolve();
      });
    });
    req.on('error', () => { non2xx++; resolve(); });
    if (body) req.write(body);
    req.end();
  });
}
async function loop() { while (Date.now() < end) await one(); }
(async () => {
  const t0 = Date.now();
  await Promise.all(Array.from({ length: connections }, loop));
  const elapsed = (Date.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  agent.destroy();
  parentPort.postMessage({ requests, rps: requests / elapsed, non2xx, p50Ms: q(0.5), p99Ms: q(0.99) });
})();
`;

/**
 * Sends requests with a fixed number of keep-alive connections for a fixed time and
 * reports throughput and latency percentiles.
 *
 * @example
 * const r = await runLoad({ url: 'http://127.0.0.1:4566/health', connections: 16, durationMs: 3000 });
 */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { method: 'GET', headers: {}, ...options },
    });
    w.once('message', (m: LoadResult) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}
