import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Delivery.message without a database constraint: the outbox checks each call's messages
    once (see mmooc.mailer.outbox.hold_messages) instead of PostgreSQL checking every copy."""

    dependencies = [
        ('mailer', '0009_message_counts'),
    ]

    operations = [
        migrations.AlterField(
            model_name='delivery',
            name='message',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                    related_name='deliveries', to='mailer.message'),
        ),
    ]
