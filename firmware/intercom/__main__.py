# `python -m intercom` runs the same command line as the `intercom` script.

if __name__ == "__main__":
    from boards.cli import main

    raise SystemExit(main())
