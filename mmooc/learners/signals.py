"""What happens to learners, for the apps above them (groups, course emails) to act on."""

from django.dispatch import Signal

# A learner confirmed their signup (or was imported as confirmed). Args: learner.
learner_confirmed = Signal()
# A learner left the cohort or erased their data. Args: learner.
learner_left = Signal()
# A learner chose to leave their study group only (one-click on a group mail, or the
# unsubscribe page); they stay in the cohort. Sent inside the unsubscribe's transaction.
# Args: learner.
learner_left_group = Signal()
# A learner stopped this cohort's course emails (unsubscribe, complaint, or stop all mail):
# copies already queued for them must not leave. Args: learner.
learner_unsubscribed = Signal()
