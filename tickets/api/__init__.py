"""The staff REST API for tickets, macros and contact reasons: one view per operation."""
