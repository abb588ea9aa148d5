"""The `mge` command line: thin Typer commands over the services."""
