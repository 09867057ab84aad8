"""What happens to learners, for the apps above them (groups, course emails) to act on."""

from django.dispatch import Signal

# A learner confirmed their signup (or was imported as confirmed). Args: learner.
learner_confirmed = Signal()
# A learner left the cohort or erased their data. Args: learner.
learner_left = Signal()
