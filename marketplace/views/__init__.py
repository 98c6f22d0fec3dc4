"""Blueprints by audience or domain. Views stay thin: forms in, service calls, templates out."""
