"""Shared plumbing of every app: one error shape, request ids, logging, metrics, OpenAPI hooks, the JSON parser,
the router of the caller's own resources, body and client-address helpers, and the degraded cache.

It imports none of the apps; every app may import it.
"""
