"""Dataset reading, field mapping and the built-in generated sets."""
