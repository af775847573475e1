"""Batched engine vs naive one-run loop, side by side in one process.
Same as `grokcore bench`; see benchmarks/README.md for recorded figures."""
from grokcore.engine.bench import main

if __name__ == "__main__":
    raise SystemExit(main())
