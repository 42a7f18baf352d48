"""BOMs: headers, nested lines, alternates, effectivity, diff, rollups, import and export."""
