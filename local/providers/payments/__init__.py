"""The payment providers' gateways: Alipay, WeChat Pay and the sandbox payer, one module each, served together by
server.PaymentGateways on one loopback port. Each signs as its provider does, with code written independently of the
app's verifying code (chalicelib/payments/)."""
