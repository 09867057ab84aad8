from django.contrib import admin

from mmooc.emails.models import CourseEmail


@admin.register(CourseEmail)
class CourseEmailAdmin(admin.ModelAdmin):
    list_display = ["subject", "cohort", "key", "state", "schedule", "day_offset", "local_time", "send_at"]
    list_filter = ["state", "cohort"]
    search_fields = ["subject", "key", "cohort__slug"]
    readonly_fields = ["public_id", "message", "state", "created_at", "updated_at"]
