"""Third-party sign-in: WeChat, Weibo and QQ authorization-code flows, QR (PC) and in-app (H5)."""
