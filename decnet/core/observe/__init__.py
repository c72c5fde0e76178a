"""Observation, the pure part: sensor lines (format v1) into typed attack events, the scan
aggregate, and the attacker's path and timeline (docs/observe.md).

`line` parses a line's envelope and makes its text safe; `cowrie`, `opencanary` and `native`
normalise one sensor format each; `normalise` dispatches on the envelope's sensor and
attributes the result to the maze; `scan` aggregates connects; `attackers` shapes the views.
"""
