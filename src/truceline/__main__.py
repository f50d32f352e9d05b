"""`python -m truceline` is the `truceline` command."""

from truceline.adapters.cli.main import main

if __name__ == "__main__":
    main()
