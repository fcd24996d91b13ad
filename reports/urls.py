from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("coordinatie/", views.coordinator_dashboard, name="coordinator"),
    path("healthz/", views.healthz, name="healthz"),
    path("berichten/mislukt/", views.outbox_failed_list, name="outbox_failed"),
    path("berichten/<int:pk>/opnieuw/", views.outbox_retry_view, name="outbox_retry"),
]
