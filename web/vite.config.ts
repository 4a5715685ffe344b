// The dashboard's build: `vite build web` (root package.json `build:web`) writes web/dist, which
// the server serves under /app/. JSX is Preact's, compiled by esbuild.
// `vite web` serves it for development, with the API passed on to a server on :8080
// (STREAMDELTA_URL to change it).
import { defineConfig } from 'vite';

const server = process.env.STREAMDELTA_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/app/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Small enough to inline nothing: every asset is a hashed file the server caches for long.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      '/app/api': server,
      '/video/v1': server,
      '/system/v1': server,
    },
  },
});
