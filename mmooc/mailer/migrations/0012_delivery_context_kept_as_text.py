from django.db import migrations

from mmooc.mailer.models import JSONTextField


def _context_type(sql_type):
    """The column's type on PostgreSQL (SQLite keeps JSON as text already): the table is
    rewritten and its indexes rebuilt, locked meanwhile: 27 s for two million copies on a
    2-core machine."""
    def alter(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE mailer_delivery ALTER COLUMN context TYPE {sql_type} "
                                  f"USING context::{sql_type}")
    return alter


class Migration(migrations.Migration):
    """A copy's context kept as JSON text on PostgreSQL (see JSONTextField)."""

    dependencies = [
        ("mailer", "0011_delivery_text_compared_bytewise"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_context_type("text"), _context_type("jsonb"))],
            state_operations=[migrations.AlterField(model_name="delivery", name="context",
                                                    field=JSONTextField(blank=True, default=dict))],
        ),
    ]
