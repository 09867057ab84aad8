import pytest

from mmooc.learners import lifecycle
from mmooc.lists.models import Post
from mmooc.testing import make_cohort, make_learner

pytestmark = pytest.mark.django_db


def test_deleting_my_data_removes_my_name_from_my_posts(django_capture_on_commit_callbacks):
    from mmooc.groups.models import StudyGroup

    cohort = make_cohort()
    group = StudyGroup.objects.create(cohort=cohort, number=1, name="Group 1", address="c-group-1@lists.example.org")
    alice, bob = make_learner(cohort, name="Alice Smith"), make_learner(cohort, name="Bob Jones")
    mine = Post.objects.create(group=group, author=alice, author_name="Alice Smith", message_id="<a@x>", raw=b"")
    theirs = Post.objects.create(group=group, author=bob, author_name="Bob Jones", message_id="<b@x>", raw=b"")
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.erase(alice)
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.author_name == ""
    assert theirs.author_name == "Bob Jones"
