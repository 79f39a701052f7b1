"""What every app shares: the timestamped base model, ApplicationError and the API error handler."""
