"""An endpoint for every event, posting to the real receiver on 127.0.0.1 (conftest's webhook_receiver)."""

from __future__ import annotations

import pytest

from mmooc import testing
from mmooc.hooks.events import TYPE_NAMES
from mmooc.hooks.models import Endpoint


@pytest.fixture
def cohort(request, db):
    """py-3 (`pytest.mark.cohort` changes it)."""
    return testing.cohort_for(request.node, slug="py-3")


@pytest.fixture
def endpoint(webhook_receiver, db):
    """Active, every event type, every cohort."""
    return Endpoint.objects.create(name="CRM", url=webhook_receiver.url, events=sorted(TYPE_NAMES))
