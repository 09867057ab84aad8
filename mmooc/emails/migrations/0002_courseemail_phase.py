from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("emails", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="courseemail",
            name="phase",
            field=models.CharField(blank=True, choices=[("", "Any time"), ("before-start", "Before the start"), ("grouping", "Before the study groups are formed (the grouping check)")], default="", max_length=16),
        ),
    ]
