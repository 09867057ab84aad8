"""What happens to learners, for the apps above them (groups, course emails) to act on."""

from django.dispatch import Signal

# A learner confirmed their signup (or was imported as confirmed). Args: learner.
learner_confirmed = Signal()
# A confirmed learner wants a study group and may be placed in one now: sent right after
# learner_confirmed (so the course welcome is queued first), and when a learner studying on
# their own asks for a group on their page. Sent once committed. Args: learner.
learner_wants_group = Signal()
# A learner left the cohort or erased their data. Args: learner.
learner_left = Signal()
# A learner's data is being erased: the apps above take their name and address out of what
# they keep (lists: the posts they wrote and their copies). Sent inside the erasure's
# transaction, after the learner's row is cleared. Args: learner, name, address (as they were),
# aliases (the other addresses they wrote from, now deleted).
learner_erased = Signal()
# A learner chose to leave their study group (one-click on a group mail, the unsubscribe
# page, or "On my own" on their page); they stay in the cohort and study on their own until
# they ask for a group again. Sent inside the choice's transaction.
# Args: learner.
learner_left_group = Signal()
# A learner stopped this cohort's course emails (unsubscribe, complaint, or stop all mail):
# copies already queued for them must not leave. Args: learner.
learner_unsubscribed = Signal()
# A learner changed their time zone: course-email copies queued for them in learner-local
# time must move to the new zone's clock. Sent inside the change's transaction. Args: learner.
learner_zone_changed = Signal()
