"""The one exception type for user-facing errors; the CLI prints it as one line and exits 2."""


class CodesignError(Exception):
    """Bad input from the user: a spec field, a file, a board name. Internal bugs are not this."""
