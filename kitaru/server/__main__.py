"""`python -m kitaru.server [--host] [--port] [--database-url] [--workers]`: the same as `kitaru server up`."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    """Parse options and serve."""
    from kitaru.server._serve import serve

    parser = argparse.ArgumentParser(prog="python -m kitaru.server", description="Run the Kitaru server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    serve(host=args.host, port=args.port, database_url=args.database_url, workers=args.workers)


if __name__ == "__main__":
    main()
