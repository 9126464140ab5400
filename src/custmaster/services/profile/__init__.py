"""The living profile: activity intake, receivables, sales history, KPI sets, the 360 view
and the rebuild (docs/profile.md)."""
