"""Settling "we already decided this": search the decisions, a proposal's history and its
state at a moment, revisits of earlier decisions, and dossiers that prove the trail."""
