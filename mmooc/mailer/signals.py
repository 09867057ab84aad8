"""What the mail engine learns about recipients, for the apps above it to act on."""

from django.dispatch import Signal

# A recipient unsubscribed through their provider or a List-Unsubscribe mailto.
# Args: address (str), delivery (Delivery | None), source (str).
unsubscribed = Signal()
# An address was added to the suppression list. Args: suppression (Suppression).
suppressed = Signal()
# A recipient marked our mail as spam. Args: address (str), delivery (Delivery | None).
complained = Signal()
# A message's sending was paused (by staff, or by the complaint-rate guard); sent only when the
# message was active until then. Args: message (Message).
paused = Signal()
