# Reads a callgrind output file (valgrind --tool=callgrind, one event: Ir)
# into per-function figures: instructions spent in the function itself
# (exclusive), with the functions it calls (inclusive), and how often it was
# called. The format: https://valgrind.org/docs/manual/cl-format.html
#
#   fn=(id) name      the function the following cost lines belong to
#                     (later only "fn=(id)": names are compressed)
#   cfn=(id) name     the callee of the next "calls=" line
#   calls=N target    N calls; the cost line after it is their inclusive cost
#   POSITION COST     a cost line (positions: "line" only, absolute, +n, -n, *)
# Other lines (ob=, fl=, fi=, fe=, cob=, cfi=, cfl=, headers) carry
# positions or object names, which these figures do not need.
#
# Inclusive cost is the function's own plus that of its calls, which is
# right for a function that does not call itself; callgrind's default
# --separate-recs=2 names a recursive activation "name'2", a function of its
# own here.


class CallgrindProfile:
    """Per-function Ir of one callgrind dump; `total` is every instruction."""

    def __init__(self):
        self.exclusive = {}  # name -> Ir in the function itself
        self.calls_out = {}  # name -> Ir of the calls it makes (inclusive)
        self.called = {}  # name -> times called
        self.edges = {}  # (caller, callee) -> times called
        self.total = 0

    def inclusive(self, name):
        return self.exclusive.get(name, 0) + self.calls_out.get(name, 0)

    def top_exclusive(self, count):
        """[(Ir, name)] of the count functions with the most own instructions."""
        ranked = sorted(((cost, name) for name, cost in self.exclusive.items()), reverse=True)
        return ranked[:count]


def _name(text, names):
    """The function name of "(id) name" (defines id) or "(id)" (uses it)."""
    text = text.strip()
    if not text.startswith("("):
        return text
    close = text.index(")")
    key = text[1:close]
    rest = text[close + 1 :].strip()
    if rest:
        names[key] = rest
    return names[key]


def read_profile(path):
    """The CallgrindProfile of the callgrind output file at path."""
    profile = CallgrindProfile()
    names = {}
    function = None
    callee = None
    pending_calls = None
    with open(path) as lines:
        for line in lines:
            first = line[:1]
            if first.isdigit() or first in "+-*":
                fields = line.split()
                cost = int(fields[1]) if len(fields) > 1 else 0
                if pending_calls is not None:
                    profile.calls_out[function] = profile.calls_out.get(function, 0) + cost
                    profile.called[callee] = profile.called.get(callee, 0) + pending_calls
                    edge = (function, callee)
                    profile.edges[edge] = profile.edges.get(edge, 0) + pending_calls
                    pending_calls = None
                else:
                    profile.exclusive[function] = profile.exclusive.get(function, 0) + cost
                    profile.total += cost
            elif line.startswith("fn="):
                function = _name(line[3:], names)
            elif line.startswith("cfn="):
                callee = _name(line[4:], names)
            elif line.startswith("calls="):
                pending_calls = int(line[6:].split()[0])
    return profile
