"""What happens on the group lists, for the apps above them to act on."""

from django.dispatch import Signal

# A post was stored and its copies queued for the group's members (not a held post). Sent once
# committed. Args: post.
post_relayed = Signal()
