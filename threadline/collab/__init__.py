"""Collaboration around vault files: comments, design reviews, tasks, review templates."""
