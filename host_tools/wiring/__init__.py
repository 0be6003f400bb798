"""Wiring tools: board pin maps (hardware/boards/*.toml) to firmware defaults and SVG.

`python -m host_tools.wiring generate-pins` writes firmware/intercom/pins.py;
`python -m host_tools.wiring render` writes hardware/wiring/<board>.svg.
Both take --check to compare instead of write (exit 1 when out of date).
"""
