import { createRouter, createWebHistory } from 'vue-router'
import { onSessionExpired, session } from './api'
import { allowed, isStaff, menuFor } from './menu'

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes: [
    { path: '/login', name: 'login', component: () => import('./pages/LoginPage.vue'), meta: { public: true, title: '登录' } },
    {
      path: '/',
      component: () => import('./components/ConsoleLayout.vue'),
      children: [
        {
          path: '',
          name: 'start',
          // The first menu entry of the signed-in role (signed out: the sign-in page, which comes back here).
          redirect: () => (session.signedIn ? (menuFor(session.user.value?.roles)[0]?.path ?? '/forbidden') : '/login'),
        },
        { path: 'dashboard', component: () => import('./pages/DashboardPage.vue'), meta: { title: '数据看板' } },
        { path: 'orders', component: () => import('./pages/OrdersPage.vue'), meta: { title: '订单管理' } },
        { path: 'refunds', component: () => import('./pages/RefundsPage.vue'), meta: { title: '售后处理' } },
        { path: 'products', component: () => import('./pages/ProductsPage.vue'), meta: { title: '商品与库存' } },
        { path: 'categories', component: () => import('./pages/CategoriesPage.vue'), meta: { title: '商品分类' } },
        { path: 'brands', component: () => import('./pages/BrandsPage.vue'), meta: { title: '品牌' } },
        { path: 'coupons', component: () => import('./pages/CouponsPage.vue'), meta: { title: '优惠券' } },
        { path: 'promotions', component: () => import('./pages/PromotionsPage.vue'), meta: { title: '促销活动' } },
        { path: 'themes', component: () => import('./pages/ThemesPage.vue'), meta: { title: '专题' } },
        { path: 'rewards', component: () => import('./pages/RewardsPage.vue'), meta: { title: '积分兑换' } },
        { path: 'points-rules', component: () => import('./pages/PointsRulesPage.vue'), meta: { title: '积分规则' } },
        { path: 'reviews', component: () => import('./pages/ReviewsPage.vue'), meta: { title: '评价审核' } },
        { path: 'feedback', component: () => import('./pages/FeedbackPage.vue'), meta: { title: '用户反馈' } },
        { path: 'low-stock', component: () => import('./pages/LowStockPage.vue'), meta: { title: '库存预警' } },
        { path: 'flash-sales', component: () => import('./pages/FlashSalesPage.vue'), meta: { title: '秒杀' } },
        { path: 'membership', component: () => import('./pages/MembershipPage.vue'), meta: { title: '会员等级' } },
        { path: 'customers', component: () => import('./pages/CustomersPage.vue'), meta: { title: '用户管理' } },
        { path: 'staff', component: () => import('./pages/StaffPage.vue'), meta: { title: '员工与角色' } },
        { path: 'audit-log', component: () => import('./pages/AuditLogPage.vue'), meta: { title: '操作日志' } },
        { path: 'forbidden', component: () => import('./pages/ForbiddenPage.vue'), meta: { title: '无权限' } },
      ],
    },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

router.beforeEach((to) => {
  if (to.meta.public) return true
  if (!session.signedIn || !isStaff(session.user.value?.roles)) return { name: 'login', query: { redirect: to.fullPath } }
  if (!allowed(to.path, session.user.value?.roles)) return '/forbidden'
  return true
})

router.afterEach((to) => {
  document.title = `${(to.meta.title as string) ?? ''} - 商城管理后台`
})

onSessionExpired(() => {
  void router.replace({ name: 'login', query: { redirect: router.currentRoute.value.fullPath } })
})
