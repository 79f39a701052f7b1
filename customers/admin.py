from django.contrib import admin

from customers.models import Customer, CustomerIdentity


class CustomerIdentityInline(admin.TabularInline):
    model = CustomerIdentity
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "language", "is_vip", "created_at"]
    list_filter = ["is_vip", "language"]
    search_fields = ["name", "identities__value", "store_customer_id"]
    inlines = [CustomerIdentityInline]
