"""`mmooc staff list|assign|unassign`: who facilitates which study groups, who organizes which cohorts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from mmooc.courses import staffing as cohort_staffing
from mmooc.courses.models import Cohort, CohortOrganizer
from mmooc.groups import staffing
from mmooc.groups.models import Facilitation, StudyGroup
from mmooc.lib.staff import is_sitewide, role


def _group(text: str) -> StudyGroup:
    slug, sep, number = text.rpartition(":")
    if not sep or not slug or not number.isdigit():
        raise CommandError(f"--group {text!r}: write the cohort's slug and the group's number, e.g. py-3:2.")
    group = StudyGroup.objects.select_related("cohort").filter(cohort__slug=slug, number=int(number)).first()
    if group is None:
        raise CommandError(f"No group {number} in a cohort {slug!r} (see `mmooc group export {slug}`).")
    return group


def _cohort(slug: str) -> Cohort:
    cohort = Cohort.objects.filter(slug=slug).first()
    if cohort is None:
        raise CommandError(f"No cohort {slug!r} (see `mmooc cohort list`).")
    return cohort


class Command(BaseCommand):
    help = "Assign facilitators to study groups and organizers to cohorts, or list who is assigned where."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="list|assign|unassign")
        sub.add_parser("list", help="Every staff account, its role and what it is assigned to.")
        for name, text in (("assign", "Assign a facilitator to groups, or limit an organizer to cohorts."),
                           ("unassign", "Undo an assignment (an organizer with no cohort left is site-wide).")):
            p = sub.add_parser(name, help=text)
            p.add_argument("user", help="The staff account's user name.")
            p.add_argument("--group", action="append", default=[], metavar="COHORT:NUMBER",
                           help="A study group, e.g. py-3:2 (repeat for several); for facilitators.")
            p.add_argument("--cohort", action="append", default=[], metavar="COHORT",
                           help="A cohort's slug (repeat for several); for organizers.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            return self._list()
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No staff account {options['user']!r}.")
        if not options["group"] and not options["cohort"]:
            raise CommandError("Name at least one --group COHORT:NUMBER or --cohort COHORT.")
        # Every name is checked before anything changes.
        groups = [_group(g) for g in options["group"]]
        cohorts = [_cohort(c) for c in options["cohort"]]
        assigning = options["action"] == "assign"
        try:
            with transaction.atomic():  # a refusal changes nothing
                self._apply(user, groups, cohorts, assigning)
        except cohort_staffing.StaffingError as exc:
            raise CommandError(str(exc)) from None
        if not assigning and cohorts and is_sitewide(User.objects.get(pk=user.pk)):
            self.stdout.write(f"{user.get_username()} is assigned to no cohort: they organize every cohort.")

    def _apply(self, user: User, groups: list[StudyGroup], cohorts: list[Cohort], assigning: bool) -> None:
        lines = []
        for group in groups:
            done = (staffing.assign if assigning else staffing.unassign)(user, group, "cli")
            lines.append(f"{user.get_username()} {_verb(assigning, done)} {group.cohort.slug}:{group.number} "
                         f"({group.name})")
        for cohort in cohorts:
            done = (cohort_staffing.assign_organizer if assigning else cohort_staffing.unassign_organizer)(
                user, cohort, "cli")
            lines.append(f"{user.get_username()} {_verb(assigning, done)} {cohort.slug}")
        for line in lines:
            self.stdout.write(line)

    def _list(self) -> None:
        users = User.objects.filter(is_active=True).prefetch_related("groups").order_by("username")
        for user in users:
            kind = role(user)
            if kind is None:
                continue
            if is_sitewide(user):
                where = "every cohort"
            elif kind == "organizer":
                where = ", ".join(CohortOrganizer.objects.filter(user=user).order_by("cohort__slug")
                                  .values_list("cohort__slug", flat=True))
            else:
                where = ", ".join(f"{c}:{n}" for c, n in Facilitation.objects.filter(user=user)
                                  .order_by("group__cohort__slug", "group__number")
                                  .values_list("group__cohort__slug", "group__number")) or "no group"
            self.stdout.write(f"{user.get_username()}\t{kind}\t{where}")


def _verb(assigning: bool, done: bool) -> str:
    if assigning:
        return "now assigned to" if done else "was already assigned to"
    return "no longer assigned to" if done else "was not assigned to"
