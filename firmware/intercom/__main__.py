# `python -m intercom` runs the same command line as the `intercom` script.

if __name__ == "__main__":
    from boards.cli.command import main

    raise SystemExit(main())
