"""Feedback (反馈机制): a customer's suggestion, complaint or bug report, and staff replies until it is closed."""
