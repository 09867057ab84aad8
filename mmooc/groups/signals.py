"""What happens to study groups, for the apps above them to act on."""

from django.dispatch import Signal

# A grouping was applied: its groups and memberships are committed. Sent once committed.
# Args: cohort, grouping, groups (list of StudyGroup).
groups_formed = Signal()
# A learner confirmed after grouping was placed in a group with room (a late joiner). Sent once
# committed. Args: membership.
member_placed = Signal()
