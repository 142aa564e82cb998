import { gzipSync } from 'node:zlib';
import preact from '@preact/preset-vite';
import { defineConfig, type Plugin } from 'vite';

/** Prints the bundle's JS and CSS size, gzipped: the number docs/console.md reports. */
function bundleSize(): Plugin {
  return {
    name: 'mlops-bundle-size',
    apply: 'build',
    generateBundle(_options, bundle) {
      let raw = 0;
      let gzipped = 0;
      for (const file of Object.values(bundle)) {
        if (!/\.(js|css)$/.test(file.fileName)) continue;
        const bytes = file.type === 'chunk' ? Buffer.from(file.code) : Buffer.from(file.source);
        raw += bytes.length;
        gzipped += gzipSync(bytes, { level: 9 }).length;
      }
      const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
      console.log(`console bundle (JS+CSS): ${kb(raw)}, ${kb(gzipped)} gzipped`);
    },
  };
}

// Relative base: the same build is served at /console/ locally and at / on CloudFront.
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [
    preact({ devToolsEnabled: false, prefreshEnabled: false, reactAliasesEnabled: false }),
    bundleSize(),
  ],
  logLevel: 'warn',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
});
