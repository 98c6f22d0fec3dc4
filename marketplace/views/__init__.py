"""Blueprints, one per audience or domain. Views stay thin: forms in, service calls, templates out."""
