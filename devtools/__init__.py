"""Development tools, apart from the product (never imported by the service): the fake Anthropic server, load benchmarks, the persona walk (make converse) and scripts."""
