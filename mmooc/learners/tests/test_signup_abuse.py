"""Signups resist abuse: limits per client address, per cohort and per recipient domain,
counted in the database for the form and the API alike; a honeypot and a minimum fill time
on the form. Refused requests store nothing and queue no email."""

from __future__ import annotations

import json
import time
from ipaddress import ip_network

import pytest
from django.test import Client
from django.urls import reverse

from mmooc.learners.models import Learner
from mmooc.learners.registration import form_started
from mmooc.learners.tests.signup_cases import state
from mmooc.mailer.models import Delivery
from mmooc.testing import make_cohort

pytestmark = pytest.mark.django_db

CLIENT = "203.0.113.7"


def form_url(cohort, embed=False):
    return f"/{cohort.course.slug}/{cohort.slug}/{'embed' if embed else ''}"


def form_post(client, cohort, email, started=None, embed=False, **meta):
    data = {"email": email, "name": "A Person", "timezone": "UTC", "language": "en", "group": "group",
            "q_level": "new", "started": form_started(time.time() - 30) if started is None else started}
    return client.post(form_url(cohort, embed), data, **{"REMOTE_ADDR": CLIENT, **meta})


def api_post(client, cohort, email, **meta):
    body = json.dumps({"email": email, "name": "A Person", "timezone": "UTC", "answers": {"level": "new"}})
    return client.post(reverse("learners:api_signup", args=[cohort.slug]), body,
                       content_type="application/json", **{"REMOTE_ADDR": CLIENT, **meta})


def confirmations() -> int:
    return Delivery.objects.filter(message__tag="confirmation").count()


def test_a_burst_from_one_client_through_form_and_api_stops_at_the_client_limit(client, cohort, settings):
    settings.LEARNER_SIGNUPS_PER_CLIENT_HOUR = 20
    answers = [form_post(client, cohort, f"form{n}@example.org").status_code for n in range(30)]
    answers += [api_post(client, cohort, f"api{n}@example.net").status_code for n in range(60)]
    assert answers.count(429) == 70
    assert answers[:20] == [200] * 20
    assert Learner.objects.count() == 20
    assert confirmations() == 20


def test_a_refusal_for_a_busy_client_is_polite_says_when_and_changes_nothing(client, cohort, settings):
    settings.LEARNER_SIGNUPS_PER_CLIENT_HOUR = 2
    form_post(client, cohort, "one@example.org")
    api_post(client, cohort, "two@example.org")
    before = state()
    page = form_post(client, cohort, "three@example.org")
    assert page.status_code == 429 and 3500 < int(page["Retry-After"]) <= 3600
    text = page.content.decode()
    assert "Please try again in 60 minutes" in text and "each person can sign up on their own" in text
    assert 'value="three@example.org"' in text  # the form is shown again, filled in
    answer = api_post(client, cohort, "four@example.org")
    assert answer.status_code == 429 and 3500 < int(answer["Retry-After"]) <= 3600
    body = answer.json()
    assert body["limit"] == "client" and 3500 < body["retry_after"] <= 3600
    assert "Please try again in 60 minutes" in body["errors"]["__all__"][0]
    assert state() == before
    assert form_post(client, cohort, "five@example.org", REMOTE_ADDR="198.51.100.4").status_code == 200


def test_clients_behind_a_trusted_proxy_are_told_apart_and_one_ipv6_host_is_one_client(client, cohort, settings):
    settings.LEARNER_SIGNUPS_PER_CLIENT_HOUR = 1
    settings.TRUSTED_PROXIES = [ip_network("127.0.0.1/32")]
    proxied = {"REMOTE_ADDR": "127.0.0.1"}
    assert form_post(client, cohort, "a@example.org", HTTP_X_FORWARDED_FOR="198.51.100.1", **proxied).status_code == 200
    assert form_post(client, cohort, "b@example.org", HTTP_X_FORWARDED_FOR="198.51.100.2", **proxied).status_code == 200
    assert api_post(client, cohort, "c@example.org", HTTP_X_FORWARDED_FOR="198.51.100.1", **proxied).status_code == 429
    assert api_post(client, cohort, "d@example.org", REMOTE_ADDR="2001:db8:1:2::10").status_code == 201
    assert api_post(client, cohort, "e@example.org", REMOTE_ADDR="2001:db8:1:2:ffff::9").status_code == 429
    assert api_post(client, cohort, "f@example.org", REMOTE_ADDR="2001:db8:1:3::10").status_code == 201
    assert sorted(Learner.objects.values_list("email", flat=True)) == [
        "a@example.org", "b@example.org", "d@example.org", "f@example.org"]


def test_a_spread_burst_to_one_domain_queues_at_most_the_domains_hourly_confirmations(client, cohort, settings):
    settings.LEARNER_CONFIRMATIONS_PER_DOMAIN_HOUR = 25
    answers = []
    for n in range(60):
        peer = {"REMOTE_ADDR": f"198.51.{n // 200}.{n % 200 + 1}"}
        post = form_post if n % 2 else api_post
        answers.append(post(client, cohort, f"victim{n}@Mail.Example.com", **peer).status_code)
    assert sum(1 for a in answers if a in (200, 201)) == 25 and answers.count(429) == 35
    assert Learner.objects.count() == 25
    assert confirmations() == 25
    refused = api_post(client, cohort, "late@mail.example.com", REMOTE_ADDR="192.0.2.200").json()
    assert refused["limit"] == "domain" and "mail.example.com" in refused["errors"]["email"][0]
    assert api_post(client, cohort, "other@example.org", REMOTE_ADDR="192.0.2.201").status_code == 201


def test_a_cohort_takes_at_most_its_hourly_signups_and_others_stay_open(client, cohort, settings):
    settings.LEARNER_SIGNUPS_PER_COHORT_HOUR = 10
    answers = [api_post(client, cohort, f"p{n}@example{n}.org", REMOTE_ADDR=f"192.0.2.{n + 1}").status_code
               for n in range(15)]
    assert answers == [201] * 10 + [429] * 5
    assert Learner.objects.filter(cohort=cohort).count() == 10 and confirmations() == 10
    other = make_cohort(course=cohort.course, slug="second")
    assert form_post(client, other, "q@example.org", REMOTE_ADDR="192.0.2.99").status_code == 200
    assert Learner.objects.filter(cohort=other).count() == 1


@pytest.mark.parametrize("embed", [False, True])
def test_the_form_carries_a_signed_start_time(client, cohort, embed):
    page = client.get(form_url(cohort, embed)).content.decode()
    assert 'name="started" value="' in page and 'name="website"' in page


@pytest.mark.parametrize("embed", [False, True])
@pytest.mark.parametrize("case", ["honeypot", "too fast", "no start time", "forged start time"])
def test_a_bot_on_the_form_is_thanked_and_nothing_is_stored_or_sent(cohort, embed, case):
    client = Client(enforce_csrf_checks=not embed)
    if not embed:
        client.get(form_url(cohort))  # the CSRF cookie, as a browser would have it
    fields = {"honeypot": {}, "too fast": {"started": form_started()}, "no start time": {"started": ""},
              "forged start time": {"started": form_started(time.time() - 30)[:-3] + "AAA"}}[case]
    data = {"website": "http://spam.example"} if case == "honeypot" else {}
    before = state()
    meta = {} if embed else {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}
    response = client.post(form_url(cohort, embed), {
        "email": "bot@example.org", "timezone": "UTC", "q_level": "new",
        "started": form_started(time.time() - 30), **fields, **data}, **meta)
    assert response.status_code == 200
    assert "open the link in it to confirm" in response.content.decode()
    assert state() == before == ([], [])


def test_a_person_who_took_their_time_on_the_embed_form_is_signed_up(client, cohort):
    assert form_post(client, cohort, "slow@example.org", embed=True).status_code == 200
    assert Learner.objects.get().email == "slow@example.org" and confirmations() == 1


def test_without_a_client_address_the_other_limits_still_count(cohort, settings):
    # A request whose client address cannot be read (a misconfigured proxy) skips only the
    # per-client limit.
    from mmooc.learners.registration import signup_refusal

    settings.LEARNER_SIGNUPS_PER_COHORT_HOUR = 3
    now = time.time()
    refusals = [signup_refusal(cohort, f"p{n}@example{n}.org", "", now=now) for n in range(4)]
    assert refusals[:3] == [None, None, None]
    assert refusals[3] is not None and refusals[3].limit == "cohort"
