"""Posts keep their subject as threads compare it; stored posts are threaded again, replies
without References by their subject (mmooc.lists.threads)."""

from django.db import migrations, models

BATCH = 500


def rethread(apps, schema_editor):
    from mmooc.lists.threads import rethread as changes_for

    Post = apps.get_model("lists", "Post")
    group_ids = Post.objects.order_by().values_list("group_id", flat=True).distinct()
    for group_id in list(group_ids):
        rows = (Post.objects.filter(group_id=group_id).order_by("received_at", "id")
                .only("pk", "message_id", "in_reply_to", "references", "subject", "thread_id", "subject_key")
                .iterator(chunk_size=BATCH))
        changed = [Post(pk=pk, thread_id=thread, subject_key=key) for pk, (thread, key) in changes_for(rows).items()]
        Post.objects.bulk_update(changed, ["thread_id", "subject_key"], batch_size=BATCH)


class Migration(migrations.Migration):

    dependencies = [
        ('groups', '0004_group_address_lower'),
        ('learners', '0005_learner_alias'),
        ('lists', '0002_refusal_notice_digest_post_held'),
        ('mailer', '0005_delivery_counts'),
    ]

    operations = [
        migrations.AddField(
            model_name='post',
            name='subject_key',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddIndex(
            model_name='post',
            index=models.Index(fields=['group', 'subject_key'], name='post_subject_key'),
        ),
        migrations.RunPython(rethread, migrations.RunPython.noop),
    ]
