from __future__ import annotations

from django.db import models


class Counter(models.Model):
    """A count of events (copies sent, signups, posts relayed), kept in the database so that
    every process adds to one total. Each total is spread over a few shard rows, so that
    concurrent transactions seldom wait on the same row; the total is their sum."""

    name = models.CharField(max_length=64)
    label = models.CharField(max_length=64, blank=True)
    shard = models.PositiveSmallIntegerField()
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # The upsert's conflict target (counters.add); also serves the totals' GROUP BY.
            models.UniqueConstraint(fields=["name", "label", "shard"], name="counter_shard"),
        ]

    def __str__(self) -> str:
        return f"{self.name}[{self.label}]#{self.shard} = {self.value}"
