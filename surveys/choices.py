from django.db import models
from django.utils.translation import gettext_lazy as _


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("Satisfaction (CSAT)")
    NPS = "nps", _("Net Promoter Score (NPS)")
    CES = "ces", _("Customer effort (CES)")


# The answer scale of each kind: CSAT 1-5 stars, NPS 0-10, CES 1-7.
SCORE_RANGES: dict[str, tuple[int, int]] = {
    SurveyKind.CSAT: (1, 5),
    SurveyKind.NPS: (0, 10),
    SurveyKind.CES: (1, 7),
}
