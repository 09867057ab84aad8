from __future__ import annotations

import pytest
from django.http import Http404

from mmooc.lists.links import archive_token, archive_url, group_url, list_info, read_archive_token
from mmooc.testing import make_group

pytestmark = pytest.mark.django_db


def test_an_archive_link_names_the_group_and_the_learner_without_sequential_ids(group):
    learner = group.memberships.first().learner
    url = archive_url(group, learner)
    assert url.startswith("http://127.0.0.1:8000/groups/archive/")
    assert read_archive_token(archive_token(group, learner)) == (group.public_id, learner.public_id)
    assert f"/{learner.pk}/" not in url and learner.email not in url


def test_a_changed_character_is_refused(group):
    token = archive_token(group, group.memberships.first().learner)
    with pytest.raises(Http404):
        read_archive_token(token[:-1] + ("0" if token[-1] != "0" else "1"))


def test_a_group_without_a_public_id_is_given_one(cohort):
    group = make_group(cohort, 7)
    type(group).objects.filter(pk=group.pk).update(public_id=None)
    group.refresh_from_db()
    assert group_url(group).startswith("http://127.0.0.1:8000/groups/")
    group.refresh_from_db()
    assert group.public_id is not None


def test_list_info_uses_the_group_name_and_a_lower_cased_address(cohort):
    group = make_group(cohort, 3, address="PY-3-Group-3@lists.course.example.org")
    info = list_info(group)
    assert (info.name, info.address, info.list_id) == (
        "Group 3", "py-3-group-3@lists.course.example.org", "py-3-group-3.lists.course.example.org")
