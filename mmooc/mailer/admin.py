from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from mmooc.mailer.models import Delivery, Message, with_message_id


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("subject", "kind", "tag", "scope", "state", "created_at")
    list_filter = ("kind", "state", "tag")
    search_fields = ("subject", "scope")
    readonly_fields = ("public_id", "created_at")
    exclude = ("raw",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    # The outbox can hold millions of rows: no counting, no joins in the list.
    list_display = ("recipient", "status", "attempts", "not_before", "sent_at")
    list_filter = ("status",)
    # And by Message-ID, kept in the row or made from the ids (get_search_results).
    search_fields = ("=recipient", "=provider_id")
    raw_id_fields = ("message",)
    show_full_result_count = False
    exclude = ("rfc_message_id",)
    readonly_fields = ("message_id_header", "provider_id", "attempts", "lease_until", "sent_at", "updated_at")

    @admin.display(description="Message-ID")
    def message_id_header(self, delivery: Delivery) -> str:
        return delivery.header_message_id() if delivery.pk else ""

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, Any]:
        found, may_repeat = super().get_search_results(request, queryset, search_term)
        if search_term.strip():
            found |= queryset.filter(with_message_id(search_term))
        return found, may_repeat
