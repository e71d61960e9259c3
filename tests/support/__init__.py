"""Helpers, fixtures and worker scripts that the tests share."""
