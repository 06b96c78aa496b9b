"""Where a cycle's records come from: each registry's live API (live), or an offline directory
(files), through the registries' own sources and file shapes (``monitor.registries``)."""
