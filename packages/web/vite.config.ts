import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The web app is built into dist/ and served by the Iceberg server itself (same origin as the API).
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: { proxy: { '/api': { target: 'http://127.0.0.1:8080', ws: true } } },
});
