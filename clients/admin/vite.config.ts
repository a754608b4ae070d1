import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

export default defineConfig({
  base: '/console/',
  plugins: [vue()],
  build: { target: 'es2020', chunkSizeWarningLimit: 1200, reportCompressedSize: false },
  server: { port: 5174, proxy: { '^/(?!console/|@|src/|node_modules/)': 'http://127.0.0.1:8000' } },
})
