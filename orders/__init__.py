"""Products, orders, items and shipments synced from the store."""
