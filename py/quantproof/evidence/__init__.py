"""Evidence channels: formal (Lean), tests (pytest + hypothesis) and measurements."""
