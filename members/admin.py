"""The Django admin is for admins: looking things up and fixing reference data.

Day-to-day changes go through the coordinator's pages, which use the services (numbers,
history, welcome messages). History rows are read-only here.
"""

from django.contrib import admin

from .models import (
    AddressChange,
    Buurt,
    Consent,
    ConsentText,
    Household,
    Member,
    MemberImport,
    Move,
    PostcodeRange,
    StatusChange,
)
from .services import MembershipError, Person, member_update


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PostcodeRangeInline(admin.TabularInline):
    model = PostcodeRange
    extra = 0


@admin.register(Buurt)
class BuurtAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
    inlines = [PostcodeRangeInline]


class MemberInline(ReadOnlyInline):
    model = Member
    fields = ["number", "given_name", "tussenvoegsel", "family_name", "status"]


class AddressChangeInline(ReadOnlyInline):
    model = AddressChange
    fields = ["changed_on", "old_address", "new_address", "recorded_by"]


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ["street", "house_number", "house_number_addition", "postcode", "town", "buurt"]
    list_filter = ["buurt"]
    search_fields = ["postcode", "street", "town"]
    list_select_related = ["buurt"]
    readonly_fields = ["buurt"]
    inlines = [MemberInline, AddressChangeInline]


class StatusChangeInline(ReadOnlyInline):
    model = StatusChange
    fields = ["effective_on", "from_status", "to_status", "reason", "changed_by", "recorded_at"]
    readonly_fields = ["recorded_at"]


class MoveInline(ReadOnlyInline):
    model = Move
    fields = ["moved_on", "from_address", "to_address", "recorded_by"]


class ConsentInline(ReadOnlyInline):
    model = Consent
    fields = ["consent_text", "given_at", "via", "withdrawn_at", "recorded_by"]


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["number", "family_name", "given_name", "tussenvoegsel", "status", "household"]
    list_filter = ["status", "household__buurt", "language", "contact_preference"]
    search_fields = ["number", "search_name", "email", "household__postcode"]
    list_select_related = ["household"]
    raw_id_fields = ["household", "user", "created_by"]
    # Status, numbers and names for sorting and search belong to the services.
    readonly_fields = [
        "number",
        "status",
        "applied_on",
        "joined_on",
        "ended_on",
        "end_reason",
        "sort_name",
        "search_name",
    ]
    inlines = [StatusChangeInline, MoveInline, ConsentInline]

    def has_add_permission(self, request):
        return False  # registering goes through the coordinator's page (number, history, welcome)

    def save_model(self, request, obj, form, change):
        person = Person(
            given_name=obj.given_name,
            tussenvoegsel=obj.tussenvoegsel,
            family_name=obj.family_name,
            email=obj.email,
            phone=obj.phone,
            date_of_birth=obj.date_of_birth,
            language=obj.language,
            contact_preference=obj.contact_preference,
        )
        try:
            member_update(member=obj, person=person, by=request.user)
        except MembershipError as error:
            self.message_user(request, str(error), level="error")


@admin.register(ConsentText)
class ConsentTextAdmin(admin.ModelAdmin):
    list_display = ["key", "version", "title", "published_on", "required"]
    list_filter = ["key"]

    def get_readonly_fields(self, request, obj=None):
        # A published version is never edited: people agreed to exactly this text.
        return ["key", "version", "text", "title", "published_on"] if obj else []


@admin.register(MemberImport)
class MemberImportAdmin(admin.ModelAdmin):
    list_display = ["file_name", "row_count", "status", "created_at", "imported_at"]
    list_filter = ["status"]
    exclude = ["rows"]
    readonly_fields = [
        "file_name",
        "columns",
        "row_count",
        "status",
        "uploaded_by",
        "imported_by",
        "imported_at",
        "summary",
    ]
