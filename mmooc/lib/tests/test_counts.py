from __future__ import annotations

from mmooc.lib.counts import counted


def test_it_writes_the_number_with_separators_and_the_right_plural():
    assert counted(1, "post", "posts") == "1 post"
    assert counted(0, "post", "posts") == "0 posts"
    assert counted(1715, "learner", "learners") == "1,715 learners"
    assert counted(1_000_000, "group", "groups") == "1,000,000 groups"
