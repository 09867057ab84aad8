from __future__ import annotations

from django.test import RequestFactory

from mmooc.lib.paging import other_params


def test_it_keeps_every_parameter_but_the_page():
    request = RequestFactory().get("/x", {"q": "a&b", "page": "3", "state": "left"})
    assert other_params(request) == "q=a%26b&state=left"


def test_it_is_empty_without_other_parameters():
    assert other_params(RequestFactory().get("/x?page=2")) == ""
