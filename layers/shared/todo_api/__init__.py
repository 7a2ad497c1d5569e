"""Shared package of the To-Do API: models, domain, DynamoDB adapter and the HTTP edge."""
