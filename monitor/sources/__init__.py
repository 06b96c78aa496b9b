"""Where records come from: the offline directory (files), the seed text pages (seedtext)."""
