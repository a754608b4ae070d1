"""The sign-in providers: WeChat, Weibo and QQ, one module each, served together by server.OAuthEmulator on one
loopback port; codes.py is what they share (authorization codes, tokens, the authorize page)."""
