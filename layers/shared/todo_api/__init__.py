"""Shared package of the To-Do API: domain, adapters, the HTTP edge, settings and wiring."""
