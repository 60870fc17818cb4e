"""The long OpenAPI fuzz run behind ``make fuzz``.

It runs ``tests/test_api_fuzz.py`` - every operation of ``/api/schema/``, authenticated,
checked for 5xx, undocumented status codes and content types, and bodies that do not
match the schema - with many more examples than the bounded run in ``make test``, and a
fresh random seed each time (printed, so a failure can be replayed with ``--seed``).

    python devtools/scripts/fuzz_api.py                       # 1000 examples per operation, random seed
    python devtools/scripts/fuzz_api.py --max-examples 5000 --seed 1234 -x
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shuren python devtools/scripts/fuzz_api.py

Arguments it does not know are passed on to pytest. The file lives outside ``tests/`` so
pytest never collects it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MAX_EXAMPLES = 1000


def main(argv: list[str] | None = None) -> int:
    """Run the fuzz test with the chosen budget and seed; pytest's exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, help="examples per operation")
    parser.add_argument("--seed", type=int, default=None, help="replay a run (default: a random seed)")
    args, pytest_args = parser.parse_known_args(argv)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    print(f"fuzz: up to {args.max_examples} examples per operation, seed {seed} (replay: --seed {seed})", flush=True)

    # Read by tests/test_api_fuzz.py when pytest imports it.
    os.environ["SHUREN_FUZZ_MAX_EXAMPLES"] = str(args.max_examples)
    os.environ["SHUREN_FUZZ_SEED"] = str(seed)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    import pytest

    return int(pytest.main(["tests/test_api_fuzz.py", "--no-cov", "-p", "no:cacheprovider", *pytest_args]))


if __name__ == "__main__":
    sys.exit(main())
