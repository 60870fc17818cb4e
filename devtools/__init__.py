"""Development tools, apart from the product and never imported by it.

The fake Anthropic server, the load benchmarks, the persona walk (``make converse``) and scripts.
"""
