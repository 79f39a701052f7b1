"""Reusable test harness: real server and worker processes that share the test database and Redis."""
