from __future__ import annotations

from django.contrib import admin

from mmooc.mailer.models import Delivery, Message


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
    search_fields = ("=recipient", "=rfc_message_id", "=provider_id")
    raw_id_fields = ("message",)
    show_full_result_count = False
    readonly_fields = ("rfc_message_id", "provider_id", "attempts", "lease_until", "sent_at", "updated_at")
