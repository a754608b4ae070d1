import vue from '@vitejs/plugin-vue'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'
import Components from 'unplugin-vue-components/vite'
import { defineConfig } from 'vite'

export default defineConfig({
  base: '/console/',
  plugins: [
    vue(),
    // Element Plus on demand: each <el-*> tag (and v-loading) brings only its component and its CSS.
    Components({ resolvers: [ElementPlusResolver({ importStyle: 'css', directives: true })], dts: false }),
  ],
  build: { target: 'es2020', chunkSizeWarningLimit: 600, reportCompressedSize: false },
  server: { port: 5174, proxy: { '^/(?!console/|@|src/|node_modules/)': 'http://127.0.0.1:8000' } },
})
