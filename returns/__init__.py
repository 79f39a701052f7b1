"""Return requests, refunds and refund authority."""
