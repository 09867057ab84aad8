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


class RateWindow(models.Model):
    """How many times something happened for one key (failed sign-ins from an address,
    signups for an address) since the window opened, shared by every process. The window
    opens at a key's first hit and closes `expires` (seconds since the epoch) later; the
    next hit after that opens a new one (mmooc.operations.ratelimits)."""

    key = models.CharField(max_length=200, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires = models.FloatField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count} until {self.expires}"


class JobLease(models.Model):
    """A periodic job's turn, shared by every process: whoever moves `due` forward first runs
    the job this time (mmooc.operations.leases)."""

    name = models.CharField(max_length=100, unique=True)
    due = models.FloatField()  # seconds since the epoch when the job may run again
    holder = models.CharField(max_length=200, blank=True)  # host:pid of the process that ran it last
    runs = models.PositiveBigIntegerField(default=0)
    last_run = models.FloatField(null=True)

    def __str__(self) -> str:
        return f"{self.name}: due {self.due}, last run by {self.holder}"
