import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startLocalRuntime } from '../../local/runtime';
import type { Benchmark } from '../harness';
import { runLoad } from '../support/load';

/**
 * A no-op route (GET /health) through the local gateway — route match, proxy event,
 * the function's worker thread, the middy wrapper — against a bare node:http server
 * answering the same JSON, in requests per second. Runs alternate to share the noise.
 */
const bench: Benchmark = async (ctx) => {
  const body = JSON.stringify({ status: 'ok', stage: 'local', version: 'dev' });
  const bare = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/health`;
  const rt = await startLocalRuntime({ port: 0, inMemory: true, dataDir: join(ctx.workDir, 'gateway') });
  const oursUrl = `${rt.url}/health`;
  const durationMs = ctx.quick ? 1000 : 3000;
  const rounds = ctx.quick ? 1 : 3;
  // Enough connections to saturate both servers: ours crosses a thread per request, so
  // it needs requests in flight to batch those hops; the bare server is saturated already.
  const connections = 64;
  try {
    // Warm both (JIT, the function's cold start).
    await runLoad({ url: bareUrl, connections, durationMs: 500 });
    await runLoad({ url: oursUrl, connections, durationMs: 500 });
    const bareRps: number[] = [];
    const oursRps: number[] = [];
    const oursP99: number[] = [];
    const ratio16: number[] = [];
    for (let i = 0; i < rounds; i++) {
      ctx.progress(`gateway round ${i + 1}/${rounds}`);
      const b = await runLoad({ url: bareUrl, connections, durationMs });
      const o = await runLoad({ url: oursUrl, connections, durationMs });
      if (o.non2xx > 0) throw new Error(`gateway answered ${o.non2xx} non-2xx responses`);
      bareRps.push(b.rps);
      oursRps.push(o.rps);
      oursP99.push(o.p99Ms);
      // For the record: the same comparison with few connections in flight.
      const b16 = await runLoad({ url: bareUrl, connections: 16, durationMs: durationMs / 2 });
      const o16 = await runLoad({ url: oursUrl, connections: 16, durationMs: durationMs / 2 });
      ratio16.push(o16.rps / b16.rps);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    return [
      {
        id: 'platform.gateway.noop-rps',
        ours: Math.round(median(oursRps)),
        baseline: Math.round(median(bareRps)),
        unit: 'req/s',
        goal: { ratioAtLeast: 0.5 },
        extra: {
          connections,
          durationMs,
          rounds,
          oursP99Ms: Number(median(oursP99).toFixed(2)),
          ratioAt16Connections: Number(median(ratio16).toFixed(3)),
        },
      },
    ];
  } finally {
    await rt.stop();
    await new Promise<void>((r) => bare.close(() => r()));
  }
};

export default bench;
