"""The console's own screens over every app: the dashboard and a principal's history."""
