"""``make converse``: walk every persona, print the figures, write one transcript per persona.

Usage: ``python -m devtools.converse [--out DIR] [NAME ...]`` (names pick personas; default all).
The exit status is 0 whatever the figures: the targets are reported, not enforced (the tests do that
per persona).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent / "out"


def main(argv: list[str] | None = None) -> int:
    """Run the walks and report; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m devtools.converse", description=__doc__)
    parser.add_argument("names", nargs="*", help="persona names (default: all)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"transcript folder (default {OUT_DIR})")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "devtools.converse.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    from devtools.converse.corpus import corpus_load
    from devtools.converse.report import summary_make, summary_text, transcript_text, verdict_problems
    from devtools.converse.walk import persona_walk

    personas = [persona for persona in corpus_load() if not args.names or persona.name in args.names]
    if not personas:
        print(f"No persona named {', '.join(args.names)}", file=sys.stderr)
        return 2
    setup_test_environment()
    test_database = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        walks = [persona_walk(persona) for persona in personas]
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        connection.creation.destroy_test_db(test_database, verbosity=0)
    summary = summary_make(walks)

    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    for verdict in summary.verdicts:
        (args.out / f"{verdict.walk.persona.name}.txt").write_text(transcript_text(verdict), encoding="utf-8")
    report = summary_text(summary)
    failing = [
        f"  {verdict.walk.persona.name}: " + "; ".join(verdict_problems(verdict))
        for verdict in summary.verdicts
        if not verdict.understood
    ]
    report += "\nPersonas not understood as written (failing or needing a fallback):\n" + (
        "\n".join(failing) or "  none"
    )
    (args.out / "report.txt").write_text(report + "\n", encoding="utf-8")
    print(report)
    print(f"\n{len(walks)} walks in {elapsed:.1f} s ({cpu:.1f} s of CPU); transcripts in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
