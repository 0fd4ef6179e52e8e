"""Page layouts and reusable visual components (no data access here)."""
