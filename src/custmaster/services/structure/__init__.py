"""Account structure use cases (issue 5): hierarchies, relationships, org units and account
teams, customer templates, extra reference data and per-account settings."""
