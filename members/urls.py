from django.urls import path

from .views import coordinator, documents, imports, portal, public

app_name = "members"

urlpatterns = [
    # Coordinators (and the treasurer, read-only): the member register.
    path("leden/", coordinator.member_list, name="member_list"),
    path("leden/export.csv", coordinator.member_export_csv, name="member_export_csv"),
    path("leden/export.xlsx", coordinator.member_export_xlsx, name="member_export_xlsx"),
    path("leden/nieuw/", coordinator.member_create, name="member_create"),
    path("leden/<int:pk>/", coordinator.member_detail, name="member_detail"),
    path("leden/<int:pk>/wijzigen/", coordinator.member_edit, name="member_edit"),
    path("leden/<int:pk>/status/", coordinator.member_status, name="member_status"),
    path("leden/<int:pk>/verhuizen/", coordinator.member_move, name="member_move"),
    path("leden/<int:pk>/opzegging/", coordinator.member_notice, name="member_notice"),
    path("leden/opzeggingen/", coordinator.notice_list, name="notice_list"),
    path("huishoudens/<int:pk>/", coordinator.household_detail, name="household_detail"),
    path("huishoudens/<int:pk>/wijzigen/", coordinator.household_edit, name="household_edit"),
    path("buurten/", coordinator.buurt_list, name="buurt_list"),
    path("buurten/<int:pk>/", coordinator.buurt_detail, name="buurt_detail"),
    path(
        "buurten/<int:pk>/postcodes/<int:range_pk>/verwijderen/",
        coordinator.postcode_range_delete,
        name="postcode_range_delete",
    ),
    # Importing a member file: upload, preview, confirm.
    path("leden/importeren/", imports.member_import, name="member_import"),
    path(
        "leden/importeren/<uuid:token>/",
        imports.member_import_preview,
        name="member_import_preview",
    ),
    # Paper: welcome letters, lists for a door-to-door round, letters waiting to be printed.
    path(
        "leden/<int:pk>/welkomstbrief.pdf",
        documents.member_welcome_letter,
        name="member_welcome_letter",
    ),
    path(
        "buurten/<int:pk>/ledenlijst.pdf",
        documents.buurt_member_list_pdf,
        name="buurt_member_list_pdf",
    ),
    path("brieven/", documents.letter_list, name="letter_list"),
    path("brieven/afdrukken.pdf", documents.letter_print, name="letter_print"),
    # Members: their own household.
    path("mijn/", portal.portal, name="portal"),
    path("mijn/gegevens/", portal.portal_edit, name="portal_edit"),
    path("mijn/adres/", portal.portal_address, name="portal_address"),
    path("mijn/huisgenoten/nieuw/", portal.housemate_add, name="housemate_add"),
    path("mijn/huisgenoten/<int:pk>/wijzigen/", portal.housemate_edit, name="housemate_edit"),
    path("mijn/huisgenoten/<int:pk>/afmelden/", portal.housemate_remove, name="housemate_remove"),
    path("mijn/mijn-gegevens.json", portal.data_export, name="data_export"),
    # Anyone: the privacy statement.
    path("privacy/", public.privacy_statement, name="privacy_statement"),
    path("mijn/toestemming/<int:pk>/geven/", portal.consent_give, name="consent_give"),
    path("mijn/toestemming/<slug:key>/intrekken/", portal.consent_revoke, name="consent_revoke"),
    path("mijn/opzeggen/", portal.notice_give, name="notice_give"),
    path("mijn/opzeggen/intrekken/", portal.notice_withdraw, name="notice_withdraw"),
]
