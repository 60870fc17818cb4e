"""Development tools, apart from the product: the fake Anthropic server, the load benchmarks and scripts."""
