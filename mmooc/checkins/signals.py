"""Signals of the check-ins app.

`checkin_recorded(checkin)` is sent once the check-in is committed, for each new check-in
or each changed word on a week (not for a repeat of the same word).
"""

from django.dispatch import Signal

checkin_recorded = Signal()
