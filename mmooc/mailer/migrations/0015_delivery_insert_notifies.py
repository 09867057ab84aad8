"""PostgreSQL: rows inserted into the outbox wake the listening engines by themselves.

A statement-level trigger sends the NOTIFY that `mmooc.mailer.wakeups.notify` sent as a
statement of its own: one round trip less for every write to the outbox (each relayed
post, each signup's confirmation), and no way in for a writer that forgets it. PostgreSQL delivers it when the
transaction commits, once however many statements sent it. Nothing on SQLite."""

from django.db import migrations

# The channel is mmooc.mailer.wakeups.CHANNEL, written out: a migration stays as it was.
CREATE = [
    """CREATE FUNCTION mailer_delivery_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('mmooc_outbox', '');
        RETURN NULL;
    END
    $$""",
    """CREATE TRIGGER mailer_delivery_queued AFTER INSERT ON mailer_delivery
    FOR EACH STATEMENT EXECUTE FUNCTION mailer_delivery_notify()""",
]

DROP = [
    "DROP TRIGGER IF EXISTS mailer_delivery_queued ON mailer_delivery",
    "DROP FUNCTION IF EXISTS mailer_delivery_notify()",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in CREATE:
            schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("mailer", "0014_message_ref_values"),
    ]

    operations = [migrations.RunPython(create, drop)]
