"""Just-in-time access: eligibilities, access requests, approvals and time-boxed grants."""
