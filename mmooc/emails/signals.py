"""What happens to course emails, for the apps above them to act on."""

from django.dispatch import Signal

# Every copy of a scheduled course email has finished (sent, failed, suppressed or cancelled):
# sent once, by the process whose update moved the email to "sent". Args: email (CourseEmail).
email_sent = Signal()
