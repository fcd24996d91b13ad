from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("berichten/mislukt/", views.outbox_failed_list, name="outbox_failed"),
    path("berichten/<int:pk>/opnieuw/", views.outbox_retry_view, name="outbox_retry"),
]
