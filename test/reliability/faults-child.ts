// A process of its own for the kill -9 fault suite (faults-suite.ts), killed at a random moment:
//   runtime <data dir> <template.json> [<pipelines.json>]
//                                             the local runtime; prints `READY <url>`, then runs
//                                             (or, if they ended before, finds) the listed
//                                             pipeline executions {name, input} in turn, printing
//                                             `# <name> <progress>` and `RESULT <name> <json>`
//   materialize <data dir> <ends (µs), ...>   materializeSchedule (faults-materialize.ts); prints
//                                             `STARTED` once its engines are open
// Each mode imports only what it runs: startup time is most of a cycle.
import { readFileSync } from 'node:fs';

const [mode, dataDir, ...rest] = process.argv.slice(2) as [string, string, ...string[]];
const say = (line: string) => process.stdout.write(`${line}\n`);

if (mode === 'runtime') {
  const { startLocalRuntime } = await import('../../local/runtime');
  const rt = await startLocalRuntime({
    port: 0,
    dataDir,
    template: JSON.parse(readFileSync(rest[0] as string, 'utf8')),
    logLevel: 'ERROR',
    onProgress: (m) => say(`# ${m}`),
  });
  say(`READY ${rt.url}`);
  setInterval(() => undefined, 1 << 30);
  if (rest[1]) {
    const { runPipeline } = await import('../../local/pipeline');
    const runs = JSON.parse(readFileSync(rest[1], 'utf8')) as { name: string; input: string }[];
    for (const { name, input } of runs) {
      const result = await runPipeline(rt, {
        name,
        input: JSON.parse(readFileSync(input, 'utf8')),
        progress: (l) => say(`# ${name} ${l}`),
      }).catch((err: Error) => ({ status: 'ERROR', error: err.message }));
      say(`RESULT ${name} ${JSON.stringify({ status: result.status, error: result.error ?? null })}`);
    }
  }
} else if (mode === 'materialize') {
  const { materializeSchedule } = await import('./faults-materialize');
  await materializeSchedule(dataDir, rest.map(Number), () => say('STARTED'));
  say('DONE');
  process.exit(0);
} else throw new Error(`unknown mode ${mode}`);
