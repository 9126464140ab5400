"""Governance use cases: submitting changes under the approval policy, deciding change
requests (approve, reject, withdraw), applying approved changes, access rules."""
