"""Payment channels: the sandbox, Alipay and WeChat Pay behind one interface (no routes or storage here)."""
