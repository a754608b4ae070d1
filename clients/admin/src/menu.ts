/**
 * The console's menu by role: a signed-in staff member sees the entries one of their roles may open, and the router
 * refuses the others. Roles as the API defines them: admin (everything), operator (catalog, stock, marketing and
 * membership), service (orders, refunds, reviews, feedback, customers), analyst (analytics); staff, the audit log and
 * disabling a customer are the admin's.
 */
export type Role = 'admin' | 'operator' | 'service' | 'analyst'

export interface MenuEntry {
  path: string
  title: string
  icon: string
  roles: Role[]
  group: string
}

export const MENU: MenuEntry[] = [
  { path: '/dashboard', title: '数据看板', icon: 'DataAnalysis', roles: ['admin', 'analyst'], group: '概览' },
  { path: '/orders', title: '订单管理', icon: 'List', roles: ['admin', 'service'], group: '交易' },
  { path: '/refunds', title: '售后处理', icon: 'RefreshLeft', roles: ['admin', 'service'], group: '交易' },
  { path: '/reviews', title: '评价审核', icon: 'Comment', roles: ['admin', 'service'], group: '交易' },
  { path: '/feedback', title: '用户反馈', icon: 'ChatLineSquare', roles: ['admin', 'service'], group: '交易' },
  { path: '/products', title: '商品与库存', icon: 'Goods', roles: ['admin', 'operator'], group: '商品' },
  { path: '/categories', title: '商品分类', icon: 'Menu', roles: ['admin', 'operator'], group: '商品' },
  { path: '/brands', title: '品牌', icon: 'PriceTag', roles: ['admin', 'operator'], group: '商品' },
  { path: '/low-stock', title: '库存预警', icon: 'Warning', roles: ['admin', 'operator'], group: '商品' },
  { path: '/coupons', title: '优惠券', icon: 'Ticket', roles: ['admin', 'operator'], group: '营销' },
  { path: '/promotions', title: '促销活动', icon: 'Promotion', roles: ['admin', 'operator'], group: '营销' },
  { path: '/themes', title: '专题', icon: 'Collection', roles: ['admin', 'operator'], group: '营销' },
  { path: '/flash-sales', title: '秒杀', icon: 'Lightning', roles: ['admin', 'operator'], group: '营销' },
  { path: '/rewards', title: '积分兑换', icon: 'Present', roles: ['admin', 'operator'], group: '营销' },
  { path: '/points-rules', title: '积分规则', icon: 'Coin', roles: ['admin', 'operator'], group: '营销' },
  { path: '/membership', title: '会员等级', icon: 'Medal', roles: ['admin', 'operator'], group: '用户' },
  { path: '/customers', title: '用户管理', icon: 'User', roles: ['admin', 'service'], group: '用户' },
  { path: '/staff', title: '员工与角色', icon: 'Avatar', roles: ['admin'], group: '系统' },
  { path: '/audit-log', title: '操作日志', icon: 'Document', roles: ['admin'], group: '系统' },
]

export const STAFF_ROLES: Role[] = ['admin', 'operator', 'service', 'analyst']

export function isStaff(roles: readonly string[] | undefined): boolean {
  return !!roles?.some((r) => (STAFF_ROLES as string[]).includes(r))
}

export function menuFor(roles: readonly string[] | undefined): MenuEntry[] {
  return MENU.filter((entry) => entry.roles.some((r) => roles?.includes(r)))
}

export function allowed(path: string, roles: readonly string[] | undefined): boolean {
  const entry = MENU.find((e) => path === e.path || path.startsWith(`${e.path}/`))
  return !entry || entry.roles.some((r) => roles?.includes(r))
}
