from django.contrib import admin

from mmooc.courses.models import Cohort, Course, Module, Resource


class ModuleInline(admin.TabularInline):
    model = Module
    extra = 0
    fields = ["position", "title", "release_offset_days"]
    show_change_link = True


class ResourceInline(admin.TabularInline):
    model = Resource
    extra = 0
    fields = ["position", "title", "url", "kind", "minutes", "download_url"]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "group_size", "created_at"]
    prepopulated_fields = {"slug": ["title"]}
    search_fields = ["title", "slug"]
    inlines = [ModuleInline]


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "position", "release_offset_days"]
    list_filter = ["course"]
    inlines = [ResourceInline]


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ["__str__", "slug", "state", "signup_opens", "signup_closes", "start_date", "end_date"]
    list_filter = ["state", "course"]
    search_fields = ["slug", "title", "course__title"]
