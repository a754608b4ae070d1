import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { onSessionExpired, session } from './api'

declare module 'vue-router' {
  interface RouteMeta {
    title?: string
    auth?: boolean // needs a signed-in customer
    tab?: boolean // shows the tab bar
  }
}

// Every page but the home page is its own chunk, loaded when first visited.
const routes: RouteRecordRaw[] = [
  { path: '/', name: 'home', component: () => import('./pages/HomePage.vue'), meta: { title: '首页', tab: true } },
  { path: '/category', name: 'category', component: () => import('./pages/CategoryPage.vue'), meta: { title: '分类', tab: true } },
  { path: '/search', name: 'search', component: () => import('./pages/SearchPage.vue'), meta: { title: '搜索' } },
  { path: '/product/:id', name: 'product', component: () => import('./pages/ProductPage.vue'), meta: { title: '商品详情' } },
  { path: '/cart', name: 'cart', component: () => import('./pages/CartPage.vue'), meta: { title: '购物车', tab: true } },
  { path: '/checkout', name: 'checkout', component: () => import('./pages/CheckoutPage.vue'), meta: { title: '确认订单', auth: true } },
  { path: '/pay/:orderId', name: 'pay', component: () => import('./pages/PayPage.vue'), meta: { title: '收银台', auth: true } },
  { path: '/orders', name: 'orders', component: () => import('./pages/OrdersPage.vue'), meta: { title: '我的订单', auth: true } },
  { path: '/orders/:id', name: 'order', component: () => import('./pages/OrderPage.vue'), meta: { title: '订单详情', auth: true } },
  { path: '/orders/:id/review', name: 'review', component: () => import('./pages/ReviewPage.vue'), meta: { title: '评价', auth: true } },
  { path: '/orders/:id/refund', name: 'refund', component: () => import('./pages/RefundPage.vue'), meta: { title: '申请售后', auth: true } },
  { path: '/orders/:id/after-sales/new', name: 'after-sales', component: () => import('./pages/AfterSalesPage.vue'), meta: { title: '申请售后', auth: true } },
  { path: '/orders/:id/after-sales/:refundId', name: 'after-sales-case', component: () => import('./pages/AfterSalesCasePage.vue'), meta: { title: '售后详情', auth: true } },
  { path: '/me', name: 'me', component: () => import('./pages/MePage.vue'), meta: { title: '我的', tab: true } },
  { path: '/me/profile', name: 'profile', component: () => import('./pages/ProfilePage.vue'), meta: { title: '个人资料', auth: true } },
  { path: '/me/addresses', name: 'addresses', component: () => import('./pages/AddressesPage.vue'), meta: { title: '收货地址', auth: true } },
  { path: '/me/addresses/edit/:id?', name: 'address-edit', component: () => import('./pages/AddressEditPage.vue'), meta: { title: '编辑地址', auth: true } },
  { path: '/me/favorites', name: 'favorites', component: () => import('./pages/FavoritesPage.vue'), meta: { title: '我的收藏', auth: true } },
  { path: '/me/footprints', name: 'footprints', component: () => import('./pages/FootprintsPage.vue'), meta: { title: '我的足迹', auth: true } },
  { path: '/me/coupons', name: 'coupons', component: () => import('./pages/CouponsPage.vue'), meta: { title: '优惠券' } },
  { path: '/me/points', name: 'points', component: () => import('./pages/PointsPage.vue'), meta: { title: '积分', auth: true } },
  { path: '/me/membership', name: 'membership', component: () => import('./pages/MembershipPage.vue'), meta: { title: '会员中心', auth: true } },
  { path: '/me/feedback', name: 'feedback', component: () => import('./pages/FeedbackListPage.vue'), meta: { title: '意见反馈', auth: true } },
  { path: '/me/feedback/new', name: 'feedback-new', component: () => import('./pages/FeedbackNewPage.vue'), meta: { title: '我要反馈', auth: true } },
  { path: '/me/feedback/:id', name: 'feedback-detail', component: () => import('./pages/FeedbackDetailPage.vue'), meta: { title: '反馈详情', auth: true } },
  { path: '/flash-sale/:id', name: 'flash-sale', component: () => import('./pages/FlashSalePage.vue'), meta: { title: '限时秒杀' } },
  { path: '/login', name: 'login', component: () => import('./pages/LoginPage.vue'), meta: { title: '登录' } },
  { path: '/register', name: 'register', component: () => import('./pages/RegisterPage.vue'), meta: { title: '注册' } },
  { path: '/login/oauth/:provider', name: 'oauth', component: () => import('./pages/OAuthCallbackPage.vue'), meta: { title: '第三方登录' } },
  { path: '/:rest(.*)*', name: 'not-found', component: () => import('./pages/NotFoundPage.vue'), meta: { title: '页面不存在' } },
]

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
  scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
})

router.beforeEach((to) => {
  if (to.meta.auth && !session.signedIn) return { name: 'login', query: { redirect: to.fullPath } }
  return true
})

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} - 优选商城` : '优选商城'
})

onSessionExpired(() => {
  const here = router.currentRoute.value
  if (here.meta.auth) void router.replace({ name: 'login', query: { redirect: here.fullPath } })
})
