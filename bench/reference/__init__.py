"""The reference endpoint: the least a chat turn can cost on the service's stack (bench/README.md)."""
