from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("coordinatie/", views.coordinator_dashboard, name="coordinator"),
    path("healthz/", views.healthz, name="healthz"),
]
