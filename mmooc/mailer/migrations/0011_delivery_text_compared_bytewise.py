import mmooc.mailer.models
from django.db import migrations

# The outbox's text columns that are indexed, with their lengths: PostgreSQL compares them byte
# by byte from here on (see BytewiseCharField). One statement, so that the table is locked once
# and each index rebuilt once; the rows themselves are not rewritten.
COLUMNS = {"recipient": 254, "ref": 64, "status": 16, "rfc_message_id": 255, "provider_id": 255}


def _collate(collation):
    def alter(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite compares bytes already
        schema_editor.execute("ALTER TABLE mailer_delivery " + ", ".join(
            f'ALTER COLUMN {name} TYPE varchar({length}) COLLATE "{collation}"' for name, length in COLUMNS.items()))
    return alter


class Migration(migrations.Migration):
    """The outbox's indexed text compared byte by byte on PostgreSQL, whatever the database's
    locale: rebuilds the outbox's indexes (a minute or so per ten million rows, the table
    locked meanwhile)."""

    dependencies = [
        ('mailer', '0010_delivery_message_kept_by_outbox'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_collate("C"), _collate("default"))],
            state_operations=[
                migrations.AlterField(
                    model_name='delivery',
                    name='provider_id',
                    field=mmooc.mailer.models.BytewiseCharField(blank=True, max_length=255),
                ),
                migrations.AlterField(
                    model_name='delivery',
                    name='recipient',
                    field=mmooc.mailer.models.BytewiseCharField(max_length=254),
                ),
                migrations.AlterField(
                    model_name='delivery',
                    name='ref',
                    field=mmooc.mailer.models.BytewiseCharField(blank=True, max_length=64),
                ),
                migrations.AlterField(
                    model_name='delivery',
                    name='rfc_message_id',
                    field=mmooc.mailer.models.BytewiseCharField(max_length=255),
                ),
                migrations.AlterField(
                    model_name='delivery',
                    name='status',
                    field=mmooc.mailer.models.BytewiseCharField(
                        choices=[('queued', 'Queued'), ('sending', 'Sending'), ('sent', 'Sent'), ('deferred', 'Deferred'),
                                 ('failed', 'Failed'), ('suppressed', 'Suppressed'), ('cancelled', 'Cancelled')],
                        default='queued', max_length=16),
                ),
            ],
        ),
    ]
