"""Members club (会员俱乐部): levels by growth value, the growth ledger, and the daily check-in."""
