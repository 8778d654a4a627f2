import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Two pages: the operators' console (index.html) and the customers' status page (status.html). */
export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    rollupOptions: { input: { index: `${root}index.html`, status: `${root}status.html` } },
  },
  // `npm run dev:console` against a mailshift on the default port.
  server: { proxy: { '/api': 'http://127.0.0.1:8025' } },
});
