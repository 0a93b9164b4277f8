"""Paper-specific experiment grids and helpers, one module per paper slug."""
