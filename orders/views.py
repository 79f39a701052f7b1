"""The demo store page: what a shop's storefront looks like with the helpdesk beside it."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from orders.models import Product


def demo_store(request: HttpRequest) -> HttpResponse:
    products = Product.objects.order_by("name")[:12]
    return render(request, "orders/demo_store.html", {"products": products})
