"""Help-center categories and articles."""
