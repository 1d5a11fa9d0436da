"""`python -m bot` runs the same command line as `coregroup`."""

from bot.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
