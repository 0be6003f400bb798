# Errors the core raises at its callers.
#
# Bad input from the network never raises (it is dropped, counted or answered
# with an RFC response code); what raises is a broken configuration and our
# own misuse of an API.


class ConfigError(Exception):
    """The configuration cannot be used; .problems lists every reason.

    Each problem is one line "FILE: key: what is wrong", key dotted as in
    `call.targets[1]` (see intercom.config).
    """

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
