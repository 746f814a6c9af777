"""An identity's active sign-in sessions and OAuth grants: recorded on sign-in, listed and revoked (Hantera "sessions")."""
