"""`python -m casebook.serve`: the dashboard server with every limit adjustable (for tests
and tuning; `casebook serve` is the everyday command)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    from casebook.serve.limits import FLOAT_LIMITS, INT_LIMITS, Limits
    from casebook.serve.server import DEFAULT_HOST, DEFAULT_PORT, run

    parser = argparse.ArgumentParser(prog="python -m casebook.serve", allow_abbrev=False)
    parser.add_argument("--db", metavar="URL", default=None)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--notebook", default=None, help="dashboard template (.ipynb)")
    parser.add_argument("--kernel-name", default="")
    parser.add_argument("--public-url", default=None, help="where links point (https proxy)")
    parser.add_argument(
        "--trust-proxy",
        action="store_true",
        help="trust X-Forwarded-* headers from the proxy in front",
    )
    parser.add_argument("--no-fork", action="store_true", help="stock kernel start per view")
    parser.add_argument(
        "--no-shared-charts", action="store_true", help="each kernel starts its own chart engine"
    )
    defaults = Limits()
    for name in FLOAT_LIMITS:
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name)
        )
    for name in INT_LIMITS:
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name)
        )
    args = parser.parse_args(argv)
    limits = Limits(**{k: getattr(args, k) for k in Limits.__dataclass_fields__})
    return run(
        args.db,
        args.host,
        args.port,
        limits=limits,
        notebook=args.notebook,
        kernel_name=args.kernel_name,
        forked=not args.no_fork,
        shared_charts=not args.no_shared_charts,
        public=args.public_url,
        trust_proxy=args.trust_proxy,
    )


if __name__ == "__main__":
    sys.exit(main())
