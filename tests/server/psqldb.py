"""A sqlite3-like connection to PostgreSQL through psql, for the test helpers
(matrix.py, mutant.py) that read or write the store directly: no Python
driver is needed, only Debian's postgresql-client.

    db = connect(URL)          URL a libpq URI (the cluster's superuser's in the
                               tests, so row-level security does not hide rows)
    db.execute(SQL, ARGS).fetchone()
    db.commit()

Each execute is one psql run (autocommit); "?" placeholders are replaced by
SQL literals (None, numbers, strings quoted with '' doubled). $AUTODEV_PSQL
names the psql binary (default: psql on PATH).
"""
import os
import subprocess


def literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def value(c):
    """A column as psql prints it: "" is NULL, digits an int, the rest text."""
    if c == "":
        return None
    if c.lstrip("-").isdigit():
        return int(c)
    return c


class Rows:
    def __init__(self, rows):
        self.rows = rows

    def fetchone(self):
        return self.rows[0] if self.rows else None


class Connection:
    def __init__(self, url):
        self.url = url
        self.psql = os.environ.get("AUTODEV_PSQL", "psql")

    def execute(self, sql, args=()):
        parts = sql.split("?")
        if len(parts) != len(args) + 1:
            raise ValueError("%d placeholders, %d arguments" % (len(parts) - 1, len(args)))
        q = parts[0] + "".join(literal(a) + p for a, p in zip(args, parts[1:]))
        out = subprocess.run([self.psql, "-X", "-q", "-A", "-t", "-F", "\t", "-v",
                              "ON_ERROR_STOP=1", "-d", self.url, "-c", q],
                             check=True, capture_output=True, text=True).stdout
        rows = [tuple(value(c) for c in line.split("\t")) for line in out.splitlines() if line]
        return Rows(rows)

    def commit(self):
        pass


def connect(url):
    return Connection(url)


def is_url(db):
    return db.startswith("postgres://") or db.startswith("postgresql://")
