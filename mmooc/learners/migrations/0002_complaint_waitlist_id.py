import uuid

from django.db import migrations, models


def fill_public_ids(apps, schema_editor):
    WaitlistEntry = apps.get_model("learners", "WaitlistEntry")
    for entry in WaitlistEntry.objects.only("pk"):
        entry.public_id = uuid.uuid4()
        entry.save(update_fields=["public_id"])


class Migration(migrations.Migration):

    dependencies = [
        ('learners', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='learner',
            name='complained_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='waitlistentry',
            name='public_id',
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='waitlistentry',
            name='public_id',
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
