// Imports the modules named in argv in this fresh process, then prints (as JSON) which
// heavy native packages that pulled in: the parent test asserts on it.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const HEAVY = ['@duckdb/node-api', 'onnxruntime-node', '@aws-sdk/client-athena', '@aws-sdk/client-glue'];
for (const file of process.argv.slice(2)) await import(pathToFileURL(file).href);
// CommonJS packages imported from ES modules are loaded through the CommonJS loader too.
const loaded = Object.keys(createRequire(import.meta.url).cache);
process.stdout.write(
  JSON.stringify(HEAVY.filter((p) => loaded.some((f) => f.includes(`/node_modules/${p}/`)))),
);
