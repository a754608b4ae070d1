// Element Plus comes on demand (vite.config.ts); the message toasts are called from code, so their CSS is named here.
import 'element-plus/theme-chalk/base.css'
import 'element-plus/es/components/message/style/css'
import './style.css'
import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router'

createApp(App).use(router).mount('#app')
