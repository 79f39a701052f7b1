from django.urls import path

from orders import views

app_name = "orders"
urlpatterns = [
    path("demo/", views.demo_store, name="demo-store"),
]
