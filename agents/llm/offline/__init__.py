"""The offline LLM stand-in: parsers (``parsing``), per-step extraction (``extraction``) and the engine."""
