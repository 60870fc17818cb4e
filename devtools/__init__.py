"""Development tools: not imported by the service."""
