"""``make converse``: walk a corpus of written-as-people-type personas through the chat and report on it.

``corpus`` loads the personas (YAML under ``personas/``), ``walk`` sends one persona's messages over
HTTP (the real URLs, in-process), ``report`` compares what was stored with what the persona meant and
sums the figures, and ``__main__`` is the command.
"""
