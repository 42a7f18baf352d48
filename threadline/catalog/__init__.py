"""The parts catalog: parts, revisions, domain templates, numbering, compliance, parts import."""
