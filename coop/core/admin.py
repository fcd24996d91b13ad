from django.contrib import admin

from .models import NumberSequence, Organisation, OutboxMessage


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "town", "email"]


@admin.register(NumberSequence)
class NumberSequenceAdmin(admin.ModelAdmin):
    list_display = ["name", "last_value"]
    readonly_fields = ["name", "last_value"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["key", "channel", "status", "to_name", "created_at", "sent_at"]
    list_filter = ["channel", "status"]
    search_fields = ["key", "to_name", "to_email"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
