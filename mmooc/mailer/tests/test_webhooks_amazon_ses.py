"""Amazon SES notifications (through SNS) at anymail's real tracking URL, as AWS documents them."""

from __future__ import annotations

import copy
import json

import pytest
import time_machine

from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Event, Message, Suppression
from mmooc.testing.webhook_cases import WebhookDoorCases, basic_auth

URL = "/anymail/amazon_ses/tracking/"
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("anymail_settings")]

# From the Amazon SES developer guide, "Examples of notifications": a permanent bounce.
BOUNCE_PERMANENT = {
    "notificationType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "reportingMTA": "dns; email.example.com",
        "bouncedRecipients": [{
            "emailAddress": "jane@example.com",
            "status": "5.1.1",
            "action": "failed",
            "diagnosticCode": "smtp; 550 5.1.1 <jane@example.com>... User unknown",
        }],
        "bounceSubType": "General",
        "timestamp": "2016-01-27T14:59:44.101Z",
        "feedbackId": "00000138111222aa-44455566-cccc-cccc-cccc-ddddaaaa068a-000000",
        "remoteMtaIp": "127.0.2.0",
    },
    "mail": {
        "timestamp": "2016-01-27T14:59:38.237Z",
        "source": "john@example.com",
        "sourceArn": "arn:aws:ses:us-east-1:888888888888:identity/example.com",
        "sourceIp": "127.0.3.0",
        "sendingAccountId": "123456789012",
        "messageId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
        "destination": ["jane@example.com", "mary@example.com", "richard@example.com"],
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": "\"John Doe\" <john@example.com>"},
            {"name": "To", "value": "\"Jane Doe\" <jane@example.com>, \"Mary Doe\" <mary@example.com>, "
                                    "\"Richard Doe\" <richard@example.com>"},
            {"name": "Message-ID", "value": "custom-message-ID"},
            {"name": "Subject", "value": "Hello"},
        ],
        "commonHeaders": {"from": ["John Doe <john@example.com>"], "date": "Wed, 27 Jan 2016 14:05:45 +0000",
                          "messageId": "custom-message-ID", "subject": "Hello"},
    },
}

# A transient bounce (mailbox full): anymail reports it as "bounced" like a permanent one.
BOUNCE_TRANSIENT = {
    "notificationType": "Bounce",
    "bounce": {
        "bounceType": "Transient",
        "bounceSubType": "MailboxFull",
        "bouncedRecipients": [{"emailAddress": "richard@example.com", "status": "4.2.2", "action": "failed",
                               "diagnosticCode": "smtp; 452 4.2.2 Mailbox full"}],
        "timestamp": "2016-01-27T14:59:44.101Z",
        "feedbackId": "00000137860315fd-869464a4-8680-4114-98d3-716fe35851f9-000000",
    },
    "mail": {
        "timestamp": "2016-01-27T14:59:38.237Z",
        "messageId": "00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924-000000",
        "destination": ["richard@example.com"],
    },
}

COMPLAINT = {
    "notificationType": "Complaint",
    "complaint": {
        "userAgent": "AnyCompany Feedback Loop (V0.01)",
        "complainedRecipients": [{"emailAddress": "richard@example.com"}],
        "complaintFeedbackType": "abuse",
        "arrivalDate": "2016-01-27T14:59:38.237Z",
        "timestamp": "2016-01-27T14:59:38.237Z",
        "feedbackId": "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000",
    },
    "mail": {
        "timestamp": "2016-01-27T14:59:38.237Z",
        "messageId": "000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
        "destination": ["jane@example.com", "mary@example.com", "richard@example.com"],
    },
}

REJECT = {
    "eventType": "Reject",
    "mail": {"timestamp": "2016-10-14T17:38:15.211Z",
             "messageId": "7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
             "destination": ["recipient@example.com"]},
    "reject": {"reason": "Bad content"},
}


def sns(ses_event: dict, message_id: str = "19ba9823-d7f2-53c1-860e-cb10e0d13dfc") -> dict:
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events",
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps(ses_event) + "\n",
        "Timestamp": "2016-01-27T14:59:45.675Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE-SIGNATURE==",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-12345abcde.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn",
    }


def post(client, message: dict, auth: dict | None = None, **extra):
    headers = {"HTTP_X_AMZ_SNS_MESSAGE_ID": message["MessageId"], "HTTP_X_AMZ_SNS_MESSAGE_TYPE": message["Type"]}
    return client.post(URL, data=json.dumps(message), content_type="text/plain; charset=UTF-8",
                       **{**headers, **(basic_auth() if auth is None else auth), **extra})


class TestSecurity(WebhookDoorCases):
    url = URL
    content_type = "text/plain; charset=UTF-8"
    missing_auth_status = 401  # SNS sends its credentials only once asked for them

    def send(self, client, auth):
        return post(client, sns(BOUNCE_PERMANENT), auth)

    def state(self):
        return Event.objects.count(), Suppression.objects.count()

    def malformed_headers(self):
        return {"HTTP_X_AMZ_SNS_MESSAGE_ID": "19ba9823-d7f2-53c1-860e-cb10e0d13dfc",
                "HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification"}


def sent_to(addresses: list[str], ses_message_id: str) -> list[Delivery]:
    message = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello", body="Hi")
    outbox.enqueue(message, [outbox.Recipient(a) for a in addresses])
    # SES gives one message id per recipient copy when sent one by one; a batch shares one.
    message.deliveries.update(provider_id=ses_message_id, status=Delivery.SENT)
    return list(message.deliveries.order_by("recipient"))


def test_it_suppresses_a_permanent_bounce(client):
    sent_to(["jane@example.com"], BOUNCE_PERMANENT["mail"]["messageId"])
    assert post(client, sns(BOUNCE_PERMANENT)).status_code == 200
    row = Suppression.objects.get()
    assert (row.address, row.reason) == ("jane@example.com", Suppression.HARD_BOUNCE)
    assert "User unknown" in row.detail


def test_it_matches_the_copy_of_the_bounced_recipient_in_a_batch(client):
    jane, mary, richard = sent_to(["jane@example.com", "mary@example.com", "richard@example.com"],
                                  BOUNCE_PERMANENT["mail"]["messageId"])
    post(client, sns(BOUNCE_PERMANENT))
    assert Event.objects.get().delivery == jane


def test_it_counts_a_transient_bounce_instead_of_suppressing(client):
    assert post(client, sns(BOUNCE_TRANSIENT)).status_code == 200
    event = Event.objects.get()
    assert event.event_type == "bounced" and event.raw["verdict"] == "soft-bounce"
    assert not Suppression.objects.exists()


@time_machine.travel("2016-01-28T09:00:00Z", tick=False)
def test_it_suppresses_after_five_transient_bounces(client):
    for n in range(5):
        bounce = copy.deepcopy(BOUNCE_TRANSIENT)
        bounce["mail"]["messageId"] = f"00000137860315fd-{n:08d}-000000"
        post(client, sns(bounce, message_id=f"19ba9823-d7f2-53c1-860e-cb10e0d1{n:04d}"))
    row = Suppression.objects.get()
    assert (row.address, row.reason) == ("richard@example.com", Suppression.SOFT_BOUNCES)


def test_it_suppresses_a_complaint(client):
    post(client, sns(COMPLAINT))
    row = Suppression.objects.get()
    assert (row.address, row.reason) == ("richard@example.com", Suppression.COMPLAINT)


def test_it_does_not_suppress_a_message_refused_for_its_content(client):
    assert post(client, sns(REJECT)).status_code == 200
    assert Event.objects.get().event_type == "rejected"
    assert not Suppression.objects.exists()


def test_it_stores_one_event_per_bounced_recipient_of_one_notification(client):
    bounce = copy.deepcopy(BOUNCE_PERMANENT)
    bounce["bounce"]["bouncedRecipients"].append({"emailAddress": "mary@example.com"})
    post(client, sns(bounce))
    assert sorted(Event.objects.values_list("recipient", flat=True)) == ["jane@example.com", "mary@example.com"]
    assert Suppression.objects.count() == 2





def test_it_refuses_a_body_that_does_not_match_the_sns_headers(client):
    response = post(client, sns(BOUNCE_PERMANENT), HTTP_X_AMZ_SNS_MESSAGE_ID="another-id")
    assert response.status_code == 400
    assert not Suppression.objects.exists()
