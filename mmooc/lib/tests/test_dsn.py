"""Reading delivery status notifications (mmooc.lib.dsn) from real mail servers, and garbage."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mmooc.lib import dsn

RETURN_PATH = "bounces+1f-0123456789abcdef@lists.course.example.org"
ORIGINAL_ID = "<4f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f@course.example.org>"


def original_headers(message_id: str = ORIGINAL_ID, to: str = "jane@example.com") -> str:
    return (f"Return-Path: <{RETURN_PATH}>\n"
            "From: Gentle Python <course@course.example.org>\n"
            f"To: {to}\n"
            "Subject: Week 1: getting started\n"
            f"Message-ID: {message_id}\n"
            "Date: Tue, 14 Nov 2023 22:13:18 +0000\n"
            "List-Id: <py-3.announce.course.example.org>\n")


def postfix(action: str = "failed", status: str = "5.1.1", to: str = "jane@example.com",
            diagnostic: str | None = None, message_id: str = ORIGINAL_ID) -> bytes:
    diagnostic = diagnostic or (f"smtp; 550 5.1.1 <{to}>: Recipient address rejected: User unknown in\n"
                                "    virtual mailbox table")
    return f"""Return-Path: <>
Received: by mail.example.net (Postfix) id 3F1A6C0D2E; Tue, 14 Nov 2023 22:13:20 +0000 (UTC)
Date: Tue, 14 Nov 2023 22:13:20 +0000 (UTC)
From: MAILER-DAEMON@mail.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {RETURN_PATH}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="3F1A6C0D2E.1700000000/mail.example.net"
Content-Transfer-Encoding: 8bit
Message-Id: <20231114221320.3F1A6C0D2E@mail.example.net>

This is a MIME-encapsulated message.

--3F1A6C0D2E.1700000000/mail.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<{to}>: host mx.example.com[192.0.2.10] said: 550 5.1.1
    <{to}>: Recipient address rejected: User unknown in virtual mailbox
    table (in reply to RCPT TO command)

--3F1A6C0D2E.1700000000/mail.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.net
X-Postfix-Queue-ID: 3F1A6C0D2E
X-Postfix-Sender: rfc822; {RETURN_PATH}
Arrival-Date: Tue, 14 Nov 2023 22:13:19 +0000 (UTC)

Final-Recipient: rfc822; {to}
Original-Recipient: rfc822;{to}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.com
Diagnostic-Code: {diagnostic}

--3F1A6C0D2E.1700000000/mail.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

{original_headers(message_id, to)}
--3F1A6C0D2E.1700000000/mail.example.net--
""".encode()


def postfix_delayed() -> bytes:
    return postfix(action="delayed", status="4.4.1",
                   diagnostic="X-Postfix; connect to mx.example.com[192.0.2.10]:25: Connection timed out")


def exim() -> bytes:
    return f"""Return-path: <>
Received: from Debian-exim by mx.example.net with local (Exim 4.96) id 1r3Dq6-0004yP-2L
From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: {RETURN_PATH}
References: {ORIGINAL_ID}
Content-Type: multipart/report; report-type=delivery-status; boundary=1700000000-eximdsn-1804289383
MIME-Version: 1.0
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1r3Dq6-0004yP-2L@mx.example.net>
Date: Tue, 14 Nov 2023 22:13:20 +0000

--1700000000-eximdsn-1804289383
Content-type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  bob@example.net
    host mx.example.net [192.0.2.20]
    SMTP error from remote mail server after RCPT TO:<bob@example.net>:
    550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown

--1700000000-eximdsn-1804289383
Content-type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Action: failed
Final-Recipient: rfc822;bob@example.net
Status: 5.0.0
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown

--1700000000-eximdsn-1804289383
Content-type: message/rfc822

{original_headers(to="bob@example.net")}MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello Bob, this is week 1.

--1700000000-eximdsn-1804289383--
""".encode()


def gmail() -> bytes:
    return f"""Delivered-To: {RETURN_PATH}
Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {RETURN_PATH}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
References: {ORIGINAL_ID}
In-Reply-To: {ORIGINAL_ID}
X-Failed-Recipients: nobody.here@gmail.com
Message-ID: <6553f1a2.050a0220.3c1d.9c5aSMTPIN_ADDED_MISSING@mx.google.com>
Date: Tue, 14 Nov 2023 14:13:22 -0800 (PST)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000a1b2c3060a1d2e3f"; report-type=delivery-status

--000000000000a1b2c3060a1d2e3f
Content-Type: multipart/related; boundary="000000000000a1b2c4060a1d2e40"

--000000000000a1b2c4060a1d2e40
Content-Type: multipart/alternative; boundary="000000000000a1b2c5060a1d2e41"

--000000000000a1b2c5060a1d2e41
Content-Type: text/plain; charset="UTF-8"


** Address not found **

Your message wasn't delivered to nobody.here@gmail.com because the address couldn't be found,
or is unable to receive mail.

--000000000000a1b2c5060a1d2e41
Content-Type: text/html; charset="UTF-8"

<html><body><h2>Address not found</h2><p>Your message wasn't delivered.</p></body></html>

--000000000000a1b2c5060a1d2e41--
--000000000000a1b2c4060a1d2e40--
--000000000000a1b2c3060a1d2e3f
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; mail.example.net
Arrival-Date: Tue, 14 Nov 2023 14:13:21 -0800 (PST)
X-Original-Message-ID: {ORIGINAL_ID}

Final-Recipient: rfc822; nobody.here@gmail.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com. (2607:f8b0:4004:c07::1a, the server for the domain gmail.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try
 550-5.1.1 double-checking the recipient's email address for typos or
 550-5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser
Last-Attempt-Date: Tue, 14 Nov 2023 14:13:22 -0800 (PST)

--000000000000a1b2c3060a1d2e3f
Content-Type: message/rfc822

{original_headers(to="nobody.here@gmail.com")}
Hello

--000000000000a1b2c3060a1d2e3f--
""".encode()


def microsoft() -> bytes:
    return f"""From: postmaster@contoso.onmicrosoft.com
To: {RETURN_PATH}
Date: Tue, 14 Nov 2023 22:13:23 +0000
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9"
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
Message-ID: <c0ffee00-1234-4abc-9def-0123456789ab@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>
In-Reply-To: {ORIGINAL_ID}
References: {ORIGINAL_ID}
Subject: Undeliverable: Week 1: getting started
Auto-Submitted: auto-replied
MIME-Version: 1.0

--f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9
Content-Type: multipart/alternative; differences=Content-Type;
\tboundary="a9b8c7d6-e5f4-4321-8765-0fedcba98765"

--a9b8c7d6-e5f4-4321-8765-0fedcba98765
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Your message to jdoe@contoso.com couldn't be delivered.
jdoe wasn't found at contoso.com.

--a9b8c7d6-e5f4-4321-8765-0fedcba98765
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

<html><body><p>Your message to jdoe@contoso.com couldn't be delivered.</p></body></html>

--a9b8c7d6-e5f4-4321-8765-0fedcba98765--

--f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;mail.example.net
Arrival-Date: Tue, 14 Nov 2023 22:13:21 +0000

Final-Recipient: rfc822;jdoe@contoso.com
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient jdoe@contoso.com not found by
 SMTP address lookup
X-Display-Name: Jane Doe

--f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9
Content-Type: message/rfc822

{original_headers(to="jdoe@contoso.com")}
Hello

--f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9--
""".encode()


def text_bounce() -> bytes:
    return f"""From: MAILER-DAEMON@old.example.net
To: {RETURN_PATH}
Subject: failure notice
Message-ID: <qmail-1700000000@old.example.net>

Hi. This is the qmail-send program at old.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<jane@example.com>:
Sorry, no mailbox here by that name. (#5.1.1)
""".encode()


def vacation() -> bytes:
    return f"""From: Jane <jane@example.com>
To: {RETURN_PATH}
Subject: Out of office: Week 1
Auto-Submitted: auto-replied
Message-ID: <ooo-1@example.com>

I am away until Monday.
""".encode()


def test_it_reads_a_postfix_hard_bounce():
    report = dsn.parse(postfix())
    assert report.is_dsn and report.reporting_mta == "dns; mail.example.net"
    (r,) = report.recipients
    assert (r.final_recipient, r.action, r.status, r.verdict) == ("jane@example.com", "failed", "5.1.1", dsn.HARD)
    assert "User unknown" in r.diagnostic


def test_it_finds_the_message_id_in_returned_headers():
    assert dsn.parse(postfix()).message_id == ORIGINAL_ID


def test_it_reads_a_postfix_delay_as_soft():
    (r,) = dsn.parse(postfix_delayed()).recipients
    assert (r.action, r.verdict) == ("delayed", dsn.SOFT)


def test_it_reads_an_exim_bounce_and_its_returned_message():
    report = dsn.parse(exim())
    (r,) = report.recipients
    assert (r.final_recipient, r.status, r.verdict) == ("bob@example.net", "5.0.0", dsn.HARD)
    assert report.message_id == ORIGINAL_ID


def test_it_reads_a_gmail_bounce_with_a_folded_diagnostic():
    (r,) = dsn.parse(gmail()).recipients
    assert (r.final_recipient, r.verdict) == ("nobody.here@gmail.com", dsn.HARD)
    assert "double-checking" in r.diagnostic and "\n" not in r.diagnostic


def test_it_reads_a_microsoft_bounce():
    report = dsn.parse(microsoft())
    (r,) = report.recipients
    assert (r.final_recipient, r.status, r.verdict) == ("jdoe@contoso.com", "5.1.10", dsn.HARD)
    assert report.message_id == ORIGINAL_ID


def test_it_treats_a_policy_refusal_as_soft():
    (r,) = dsn.parse(postfix(status="5.7.1", diagnostic="smtp; 550 5.7.1 Message rejected as spam")).recipients
    assert r.verdict == dsn.SOFT


def test_it_treats_a_failure_without_status_as_unknown():
    raw = postfix().replace(b"Status: 5.1.1\n", b"")
    (r,) = dsn.parse(raw).recipients
    assert r.verdict == dsn.UNKNOWN


def test_it_treats_a_success_report_as_success():
    (r,) = dsn.parse(postfix(action="delivered", status="2.0.0", diagnostic="smtp; 250 OK")).recipients
    assert r.verdict == dsn.SUCCESS


def test_it_reads_no_recipient_from_a_text_bounce():
    report = dsn.parse(text_bounce())
    assert not report.is_dsn and report.recipients == [] and report.subject == "failure notice"


def test_it_recognizes_an_auto_reply():
    assert dsn.parse(vacation()).auto_reply


def test_it_reads_only_the_head_of_an_oversized_bounce():
    raw = postfix() + b"x" * (dsn.MAX_PARSE_BYTES + 10)
    report = dsn.parse(raw)
    assert report.recipients[0].verdict == dsn.HARD
    assert any("only the beginning" in p for p in report.problems)


def test_it_survives_deeply_nested_multiparts():
    head = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (n, n) for n in range(3000))
    report = dsn.parse(b"From: x@example.org\n" + head)
    assert report.recipients == []


def test_it_limits_the_recipients_read():
    blocks = "".join(f"\nFinal-Recipient: rfc822; r{n}@example.org\nAction: failed\nStatus: 5.1.1\n"
                     for n in range(500))
    raw = postfix().replace(b"Final-Recipient: rfc822; jane@example.com", blocks.encode().strip(), 1)
    assert len(dsn.parse(raw).recipients) == dsn.MAX_RECIPIENTS


def test_it_reads_a_base64_encoded_status_part():
    import base64

    fields = b"Reporting-MTA: dns; x.example\n\nFinal-Recipient: rfc822; a@example.org\nAction: failed\n" \
             b"Status: 5.1.1\n"
    raw = (b"Content-Type: multipart/report; report-type=delivery-status; boundary=XX\n\n--XX\n"
           b"Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
           + base64.encodebytes(fields) + b"--XX--\n")
    (r,) = dsn.parse(raw).recipients
    assert (r.final_recipient, r.verdict) == ("a@example.org", dsn.HARD)


def test_it_classifies_smtp_replies():
    assert dsn.verdict_for_code("smtp; 550 5.1.1 user unknown") == dsn.HARD
    assert dsn.verdict_for_code("452 4.2.2 over quota") == dsn.SOFT
    assert dsn.verdict_for_code("552 5.2.2 mailbox full") == dsn.SOFT
    assert dsn.verdict_for_code("550 Requested action not taken") == dsn.HARD
    assert dsn.verdict_for_code("421 try later") == dsn.SOFT
    assert dsn.verdict_for_code("no idea") == dsn.UNKNOWN
    assert dsn.verdict_for_code("version 10.5.1.2 of the server") == dsn.UNKNOWN


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4000))
def test_it_never_raises_on_garbage(raw):
    report = dsn.parse(raw)
    assert all(r.verdict != dsn.HARD or r.status for r in report.recipients)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=400))
def test_it_never_raises_on_a_garbage_status_part(text):
    raw = ("Content-Type: multipart/report; report-type=delivery-status; boundary=XX\n\n--XX\n"
           "Content-Type: message/delivery-status\n\n" + text + "\n--XX--\n").encode("utf-8", "surrogatepass")
    dsn.parse(raw)
