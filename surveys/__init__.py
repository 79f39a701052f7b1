"""CSAT, NPS and CES surveys and their responses."""
