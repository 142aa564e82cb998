// The local runtime in a process of its own, for the kill -9 fault suite (faults-suite.ts):
// argv = <data dir> <template.json>. Prints `READY <url>` once the gateway answers.
import { readFileSync } from 'node:fs';
import { startLocalRuntime } from '../../local/runtime';

const [dataDir, templatePath] = process.argv.slice(2) as [string, string];
const rt = await startLocalRuntime({
  port: 0,
  dataDir,
  template: JSON.parse(readFileSync(templatePath, 'utf8')),
  logLevel: 'ERROR',
  onProgress: (m) => process.stdout.write(`# ${m}\n`),
});
process.stdout.write(`READY ${rt.url}\n`);
setInterval(() => undefined, 1 << 30);
