"""The session_state keys and names that more than one part of the page uses: the view switch, a request from
one view to another, the message a control leaves for the next draw. Declared here so views share names,
never each other's modules."""

from __future__ import annotations

VIEW_KEY = "view"  # the view switch (a radio with its own state: it survives sidebar edits and reruns)
VIEWS = ("Training", "Latent explorer", "Runs", "A/B")
EXPLORE_VIEW = "Latent explorer"
EXPLORE_REQUEST_KEY = "explore.open"  # set by the Runs view: a checkpoint path the explorer loads on its next draw
ACTION_ERROR_KEY = "action_error"  # a control's error message, shown once beside the control bar
