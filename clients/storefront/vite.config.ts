import vue from '@vitejs/plugin-vue'
import { defineConfig, type Plugin } from 'vite'

/** Vant's icon font names a CDN fallback after its inlined woff2: drop it, so the page names no outside host. */
function noOutsideFonts(): Plugin {
  return {
    name: 'no-outside-fonts',
    transform(code, id) {
      if (!id.endsWith('.css')) return null
      return code.replace(/,\s*url\((?:https?:)?\/\/[^)]*\)\s*format\("[a-z0-9]+"\)/g, '')
    },
  }
}

export default defineConfig({
  base: '/shop/',
  plugins: [vue(), noOutsideFonts()],
  build: { target: 'es2020', chunkSizeWarningLimit: 600, reportCompressedSize: false },
  server: { proxy: { '^/(?!shop/|@|src/|node_modules/)': 'http://127.0.0.1:8000' } },
})
