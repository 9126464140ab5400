"""search at scale: indexes for the customer text search (trigram, prefix), and the maintained
counts behind the data quality dashboard (PostgreSQL only)

The text search (``?q=``, the console's search box; ``customers._text_condition``) asks
for a normalised name that *contains* the term and an e-mail that *starts with* it. A
b-tree serves neither (``LIKE '%x%'``; a prefix ``LIKE`` needs the C collation), so at a
million customers every search read the whole table. A ``pg_trgm`` GIN index serves the
name's ``LIKE '%x%'``; a ``text_pattern_ops`` b-tree the e-mail's prefix (a range scan:
a trigram index would read the posting lists of ``inf``, ``nfo``... that nearly every
address shares); the number and tax id arms have their b-trees already, so the whole
``OR`` becomes a bitmap of candidates.

The dashboard's completeness figures (``persistence/console_quality.py``) were one grouped
scan of all customers per page view. ``customer_quality_counts`` holds them as deltas:
statement-level triggers on ``customers`` add one row per (owning entity, status) that a
statement changed, with the net change of the count and of each measured field's filled
and implausible counts; the dashboard sums the (few) rows, and now and then a writer
folds them into one row per group. Only inserts touch the table, so concurrent writers
never wait on each other there. The rows the revision starts from are the current
customers' counts (derived data, like an index).

SQLite keeps its scans (no trigram indexes; the embedded database holds demo volumes):
this revision does nothing there.

Revision ID: 0023_search_trgm
Revises: 0016_activity
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0023_search_trgm"
down_revision = "0016_activity"
branch_labels = None
depends_on = None

#: index name -> what it covers, and how (``{trgm}``: the schema of pg_trgm)
INDEXES = {
    "ix_customers_name_key_trgm": 'USING gin (name_key "{trgm}".gin_trgm_ops)',
    "ix_customers_email_key_prefix": "(email_key text_pattern_ops)",
}


#: the fields counted (as the dashboard measures them at this revision) and the
#: implausible values counted (as ``console_quality._IMPLAUSIBLE`` defines them)
FIELDS = (
    "legal_name",
    "billing_email",
    "phone",
    "website",
    "tax_id",
    "customer_type",
    "industry",
    "customer_group",
    "account_tier",
    "payment_terms",
    "currency",
    "credit_limit",
)
IMPLAUSIBLE = {
    "email": "email NOT LIKE '%_@_%'",
    "billing_email": "billing_email NOT LIKE '%_@_%'",
    "phone": "phone NOT LIKE '+%'",
    "currency": "length(currency) <> 3",
    "website": "website NOT LIKE '%.%'",
}
#: one delta row in this many writing statements folds the rows into one per group
FOLD_ONE_IN = 64


def _counts(rows: str, sign: str) -> str:
    """The select of ``rows``' counts per group, with ``sign`` (``+``/``-``)."""
    columns = [f"{sign}count(*) AS total"]
    columns += [f"{sign}count({f}) AS f_{f}" for f in FIELDS]
    columns += [
        f"{sign}count(*) FILTER (WHERE {f} IS NOT NULL AND {rule}) AS i_{f}"
        for f, rule in IMPLAUSIBLE.items()
    ]
    return (
        f"SELECT owning_entity, status, {', '.join(columns)} FROM {rows}"
        " GROUP BY owning_entity, status"
    )


def _counts_sql() -> list[str]:
    numbers = ["total", *(f"f_{f}" for f in FIELDS), *(f"i_{f}" for f in IMPLAUSIBLE)]
    names = ", ".join(numbers)
    sums = ", ".join(f"sum({n})" for n in numbers)
    nonzero = " OR ".join(f"sum({n}) <> 0" for n in numbers)
    columns = ", ".join(f"{n} bigint NOT NULL" for n in numbers)
    net = (
        f"INSERT INTO customer_quality_counts (owning_entity, status, {names})"
        f" SELECT owning_entity, status, {sums} FROM ({{rows}}) AS d"
        f" GROUP BY owning_entity, status HAVING {nonzero}"
    )
    body = f"""
BEGIN
  IF TG_OP = 'INSERT' THEN
    {net.format(rows=_counts("new_rows", ""))};
  ELSIF TG_OP = 'DELETE' THEN
    {net.format(rows=_counts("old_rows", "-"))};
  ELSE
    {net.format(rows=_counts("new_rows", "") + " UNION ALL " + _counts("old_rows", "-"))};
  END IF;
  -- now and then fold the deltas into one row per group: one writer at a time (the
  -- others skip it), only rows committed already, never where a snapshot older than
  -- the statement could meet a row folded away meanwhile (serialization failure)
  IF random() < 1.0 / {FOLD_ONE_IN}
     AND current_setting('transaction_isolation') = 'read committed'
     AND pg_try_advisory_xact_lock(hashtext('customer_quality_counts')) THEN
    WITH folded AS (DELETE FROM customer_quality_counts RETURNING *)
    INSERT INTO customer_quality_counts (owning_entity, status, {names})
    SELECT owning_entity, status, {sums} FROM folded
    GROUP BY owning_entity, status HAVING {nonzero};
  END IF;
  RETURN NULL;
END"""
    statements = [
        f"CREATE TABLE customer_quality_counts (owning_entity varchar(64), "
        f"status varchar(16) NOT NULL, {columns})",
        "CREATE FUNCTION customer_quality_count() RETURNS trigger LANGUAGE plpgsql"
        f" AS $body${body}$body$",
        "CREATE TRIGGER customer_quality_insert AFTER INSERT ON customers"
        " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION customer_quality_count()",
        "CREATE TRIGGER customer_quality_update AFTER UPDATE ON customers"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION customer_quality_count()",
        "CREATE TRIGGER customer_quality_delete AFTER DELETE ON customers"
        " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION customer_quality_count()",
        # the counts of the customers there are (taken under the triggers' protection:
        # the migration's transaction holds the table's lock until it commits)
        "LOCK TABLE customers IN SHARE MODE",
        net.format(rows=_counts("customers", "")),
    ]
    return statements


def _trgm_schema() -> str:
    """The schema holding pg_trgm, installed into ``public`` if it is not installed yet
    (an extension lives once per database: in a schema of its own choosing it would go
    when that schema is dropped, and the operator class must be named with its schema
    where the search path does not include it)."""
    bind = op.get_bind()
    bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    found = bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"
    ).scalar_one()
    return str(found)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    schema = _trgm_schema()
    for name, how in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON customers {how.format(trgm=schema)}")
    for statement in _counts_sql():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS customer_quality_{event} ON customers")
    op.execute("DROP FUNCTION IF EXISTS customer_quality_count()")
    op.execute("DROP TABLE IF EXISTS customer_quality_counts")
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    # the extension stays: other schemas of the database may use it
