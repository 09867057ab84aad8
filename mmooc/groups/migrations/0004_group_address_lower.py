from django.db import migrations, models
from django.db.models.functions import Lower


class Migration(migrations.Migration):

    dependencies = [
        ('groups', '0003_studygroup_welcomed_at'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='studygroup',
            index=models.Index(Lower('address'), name='group_address_lower'),
        ),
    ]
