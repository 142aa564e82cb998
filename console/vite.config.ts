import { gzipSync } from 'node:zlib';
import preact from '@preact/preset-vite';
import { defineConfig, type Plugin } from 'vite';

/**
 * Prints the bundle's JS and CSS size, gzipped, in all and for the first screen (the entry
 * chunk, what it imports statically and its CSS; pages and Cognito load on demand): the
 * numbers docs/console.md reports.
 */
function bundleSize(): Plugin {
  return {
    name: 'mlops-bundle-size',
    apply: 'build',
    generateBundle(_options, bundle) {
      const bytes = (fileName: string) => {
        const file = bundle[fileName];
        if (!file) return Buffer.alloc(0);
        return Buffer.from(file.type === 'chunk' ? file.code : file.source);
      };
      const sizes = (files: Iterable<string>) => {
        let raw = 0;
        let gzipped = 0;
        for (const f of files) {
          if (!/\.(js|css)$/.test(f)) continue;
          const b = bytes(f);
          raw += b.length;
          gzipped += gzipSync(b, { level: 9 }).length;
        }
        const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
        return `${kb(raw)}, ${kb(gzipped)} gzipped`;
      };
      const first = new Set<string>();
      const visit = (fileName: string) => {
        const chunk = bundle[fileName];
        if (chunk?.type !== 'chunk' || first.has(fileName)) return;
        first.add(fileName);
        for (const css of chunk.viteMetadata?.importedCss ?? []) first.add(css);
        for (const imported of chunk.imports) visit(imported);
      };
      for (const file of Object.values(bundle))
        if (file.type === 'chunk' && file.isEntry) visit(file.fileName);
      console.log(`console bundle (JS+CSS): ${sizes(Object.keys(bundle))}; first screen ${sizes(first)}`);
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
