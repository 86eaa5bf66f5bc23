"""Command line for the evaluation; manage.py evaluate reuses add_arguments and run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .data import DEFAULT_CACHE
from .run import Options, evaluate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None, help="shared data root (default: ../shared/data)")
    parser.add_argument("--out", type=Path, default=Path("docs/evaluation.md"), help="markdown report path")
    parser.add_argument("--strategies", nargs="+", default=None, help="strategy names (default: all)")
    parser.add_argument("--quick", action="store_true", help="a small subset of photos and tracks")
    parser.add_argument(
        "--synthetic", action="store_true", help="random photos and tracks instead of the shared data"
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="feature and model cache")
    parser.add_argument("--no-search", action="store_true", help="skip the validation weight search")
    parser.add_argument("--no-served", action="store_true", help="skip the engine-as-served ranking")


def run(args: argparse.Namespace | Any, command: str) -> int:
    from .report import write

    options = Options(
        data=args.data,
        out=args.out,
        strategies=args.strategies,
        quick=args.quick,
        synthetic=args.synthetic,
        cache=args.cache,
        search=not args.no_search,
        served=not args.no_served,
    )
    try:
        result = evaluate(options)
    except FileNotFoundError as exc:
        print(f"evaluation data absent: {exc}", file=sys.stderr)
        return 2
    written = write(result, options.out, command)
    summary: dict[str, Any] = {
        "written": {k: str(v) for k, v in written.items()},
        "skipped": result.skipped,
        "pearson": result.pearson,
        "best_on_val": result.search.get("best"),
        "seconds": result.seconds,
    }
    print(json.dumps(summary, indent=2, default=float))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recommender.engine.evaluation", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    command = "python -m recommender.engine.evaluation " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    return run(args, command.strip())
