from __future__ import annotations

from django.contrib import admin

from mmooc.learners.models import Learner, Unsubscribe, WaitlistEntry


@admin.register(Learner)
class LearnerAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "cohort", "state", "timezone", "language", "wants_group", "signed_up_at"]
    list_filter = ["state", "source", "wants_group", "cohort"]
    search_fields = ["email_key", "name"]
    readonly_fields = ["public_id", "signed_up_at", "confirmed_at", "left_at", "unsubscribed_at", "complained_at"]
    list_select_related = ["cohort__course"]


@admin.register(Unsubscribe)
class UnsubscribeAdmin(admin.ModelAdmin):
    list_display = ["email_key", "scope", "source", "created_at", "learner"]
    list_filter = ["scope", "source"]
    search_fields = ["email_key"]
    raw_id_fields = ["learner"]


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    list_display = ["email", "course", "created_at", "confirmed_at", "notified_at"]
    list_filter = ["course"]
    search_fields = ["email_key"]
