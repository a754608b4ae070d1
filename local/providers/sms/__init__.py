"""Stand-ins for the SMS services of China's clouds (Aliyun SMS, Tencent Cloud SMS) that check every signature."""
