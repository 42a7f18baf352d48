"""The CAD file vault: files, versions, locks, checkouts, branches, conflicts, trash, signing."""
