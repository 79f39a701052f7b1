"""Staff users (email login), teams, agent profiles and the staff security setting."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.core.cache import cache
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.choices import Availability, Role
from helpdesk.core.models import TimeStampedModel


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields: object) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields: object) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields: object) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()  # type: ignore[misc]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @property
    def display_name(self) -> str:
        return staff_display_name(first_name=self.first_name, last_name=self.last_name, email=self.email)


def staff_display_name(*, first_name: str, last_name: str, email: str) -> str:
    """How a colleague is named on pages: the full name, else the email's local part."""
    return f"{first_name} {last_name}".strip() or email.split("@")[0]


class Team(TimeStampedModel):
    name = models.CharField(max_length=100, unique=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="teams_led"
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    is_auto_assignment_enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentProfile(TimeStampedModel):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile")
    languages = ArrayField(models.CharField(max_length=10), default=list, blank=True)
    chat_capacity = models.PositiveSmallIntegerField(default=3)
    ticket_capacity = models.PositiveSmallIntegerField(default=25)
    availability = models.CharField(max_length=16, choices=Availability.choices, default=Availability.OFFLINE)
    availability_changed_at = models.DateTimeField(null=True, blank=True)
    last_assigned_at = models.DateTimeField(null=True, blank=True, help_text="For round robin among equals.")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_availability_display()})"


MFA_REQUIRED_CACHE_KEY = "accounts:security:mfa-required"
MFA_REQUIRED_CACHE_SECONDS = 300


class StaffSecuritySettings(models.Model):
    """One row: the workspace-wide security switches admins control."""

    is_mfa_required_for_staff = models.BooleanField(default=False)

    class Meta:
        verbose_name = "staff security settings"
        verbose_name_plural = "staff security settings"
        permissions = [
            ("manage_settings", "Can change helpdesk settings"),
            ("view_dashboards", "Can view manager dashboards"),
        ]

    def __str__(self) -> str:
        return "Staff security settings"

    @classmethod
    def load(cls) -> "StaffSecuritySettings":
        instance, _created = cls.objects.get_or_create(pk=1)
        return instance

    @classmethod
    def is_mfa_required(cls) -> bool:
        """The switch every staff request checks, from the cache (dropped whenever the row is saved)."""
        required = cache.get(MFA_REQUIRED_CACHE_KEY)
        if required is None:
            required = cls.load().is_mfa_required_for_staff
            cache.set(MFA_REQUIRED_CACHE_KEY, required, MFA_REQUIRED_CACHE_SECONDS)
        return bool(required)
