# Name resolution the test controls, for a door started with a wrapper
# (support.door.start_door(wrapper=...)): the door's own /etc/hosts.

import os
import pathlib


class PrivateHosts:
    """Name resolution the test controls, for a door started with wrapper():
    the door runs in its own mount namespace where /etc/hosts is this
    folder's hosts file (rewritten in place by add(), so the door sees each
    change) and /etc/resolv.conf names only 127.0.0.1, where no DNS server
    listens: a name missing from the file fails at once, and no query
    leaves the loopback interface."""

    def __init__(self, folder):
        self.hosts = pathlib.Path(folder) / "hosts"
        self.resolv = pathlib.Path(folder) / "resolv.conf"
        self.hosts.write_text("127.0.0.1 localhost\n")
        self.resolv.write_text("nameserver 127.0.0.1\noptions attempts:1 timeout:1\n")

    def add(self, name, address):
        with open(self.hosts, "a") as hosts:  # in place: the bind mount keeps the inode
            hosts.write("%s %s\n" % (address, name))

    def wrapper(self):
        namespace = ["unshare", "--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            namespace[1:1] = ["--user", "--map-root-user"]
        script = 'mount --bind "$0" /etc/hosts && mount --bind "$1" /etc/resolv.conf'
        script += ' && shift && exec "$@"'
        return namespace + ["sh", "-c", script, str(self.hosts), str(self.resolv)]
