"""The customer record and the identities (emails, phones, social handles) that point to it."""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from customers.choices import IdentityKind
from helpdesk.core.models import TimeStampedModel


class Customer(TimeStampedModel):
    name = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=10, default="en")
    timezone = models.CharField(max_length=64, default="UTC")
    is_vip = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    store_customer_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    is_marketing_consent_given = models.BooleanField(default=False)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["name", "id"]
        indexes = [GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="customer_name_search")]

    def __str__(self) -> str:
        return self.name or (self.primary_email or f"Customer #{self.pk}")

    @property
    def first_name(self) -> str:
        return self.name.split(" ")[0] if self.name else ""

    @property
    def primary_email(self) -> str | None:
        for identity in self.identities.all():
            if identity.kind == IdentityKind.EMAIL:
                return identity.value
        return None


class CustomerIdentity(TimeStampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    value = models.CharField(max_length=254, help_text=_("Normalised: emails lower-cased, phones in E.164."))
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["kind", "-is_primary", "value"]
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="customer_identity_unique_per_kind")]
        verbose_name_plural = "customer identities"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"
