"""Web blueprints, one package per audience."""
