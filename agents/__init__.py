"""Agents (issue pending)."""
