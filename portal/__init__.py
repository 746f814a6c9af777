"""Self-service pages under /account/: what any signed-in principal does for itself."""
