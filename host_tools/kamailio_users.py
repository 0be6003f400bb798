# The users of deploy/kamailio/building.cfg as Kamailio reads them: the file
# its USERS_FILE placeholder names, a route that fills the users and roles
# hash tables at start-up. Written for the emulated Pico W call
# (host_tools.rp2040.kamailio) and for the tests' BuildingProxy
# (tests/support/kamailio.py).

import pathlib


def write_users_file(rundir, users):
    """rundir/users.cfg for users {name: (password, role)}; its path."""
    lines = ["event_route[htable:mod-init] {"]
    for name, (password, role) in users.items():
        lines.append('    $sht(users=>%s) = "%s";' % (name, password))
        lines.append('    $sht(roles=>%s) = "%s";' % (name, role))
    lines.append("}")
    path = pathlib.Path(rundir) / "users.cfg"
    path.write_text("\n".join(lines) + "\n")
    return path
