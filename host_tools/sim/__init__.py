"""Desktop simulation: a door process, a virtual flat phone, the scenario and its report."""
