"""Helpers for the host-side scenario checkers (board-scripts/scenarios/*.check).

A checker is run by lab.sh as `python3 NN-name.check SECTION_FILE` with this
directory on PYTHONPATH. Typical use:

    from labcheck import Check
    c = Check()
    run = c.cmd("all")                 # the lab_run labelled "all"
    c.rc(run, 0)
    c.expect("kmalloc-" in run.out, "kleak all names no kmalloc-* cache")
    c.done()                           # exit 1 listing every failed expectation

Assert lower bounds and names, never exact kmemleak counts.
"""
import json
import os
import re
import sys

from labparse import Cmd, Section, parse_slabinfo, slabinfo_rows  # noqa: F401  (re-exported)


class Check:
    def __init__(self, path=None):
        self.path = path or sys.argv[1]
        self.name = os.environ.get("LAB_SCENARIO", os.path.basename(self.path))
        self.section = Section.load(self.path)
        self.failures = []
        for p in self.section.problems:
            self.fail(p)

    # -- expectations --------------------------------------------------
    def fail(self, msg):
        self.failures.append(msg)
        return False

    def expect(self, cond, msg):
        if not cond:
            self.fail(msg)
        return bool(cond)

    def info(self, msg):
        print(msg)

    def cmd(self, label):
        """The command labelled LABEL; a failure (and a dummy) when it did not run."""
        c = self.section.cmds.get(label)
        if c is None:
            self.fail("command '%s' did not run (or its output was cut)" % label)
            c = Cmd(label, "")
        elif c.rc is None:
            self.fail("command '%s' has no exit code (output cut?)" % label)
        return c

    def rc(self, cmd, *wanted):
        ok = cmd.rc in wanted
        if not ok:
            detail = cmd.err.strip().splitlines()[-3:] or cmd.out.strip().splitlines()[-3:]
            self.fail("'%s' (%s) exited %s, expected %s%s" % (
                cmd.label, cmd.argv, cmd.rc, " or ".join(map(str, wanted)),
                (": " + " | ".join(detail)) if detail else ""))
        return ok

    def contains(self, cmd, pattern, what=None, stream="out"):
        """A regex must match the command's stdout (or stderr)."""
        text = cmd.out if stream == "out" else cmd.err
        ok = re.search(pattern, text, re.M) is not None
        if not ok:
            self.fail("'%s' %s: no match for /%s/ in its std%s" % (
                cmd.label, what or "output", pattern, stream))
        return ok

    def json_lines(self, cmd, min_lines=1):
        """Every non-empty stdout line must be a JSON value; returns them."""
        values = []
        for i, line in enumerate(cmd.stdout, 1):
            if not line.strip():
                continue
            try:
                values.append(json.loads(line))
            except ValueError as e:
                self.fail("'%s' stdout line %d is not JSON (%s): %.120s" % (cmd.label, i, e, line))
                return values
        self.expect(len(values) >= min_lines,
                    "'%s' printed %d JSON lines, expected at least %d" % (cmd.label, len(values), min_lines))
        return values

    def file(self, name):
        data = self.section.files.get(name)
        if data is None:
            why = "missing in the guest" if name in self.section.nofiles else "not captured"
            self.fail("file %s %s" % (name, why))
        return data

    def done(self):
        if self.failures:
            for f in self.failures:
                print("- " + f)
            sys.exit(1)
        sys.exit(0)


def json_strings(value):
    """Every string anywhere in a JSON value (keys and values)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from json_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from json_strings(v)


def env_error(c, cmd, why):
    """An environment error as kleak documents it: exit 3, `kleak: WHY` on stderr, nothing
    on stdout."""
    c.rc(cmd, 3)
    c.expect(cmd.stderr == ["kleak: " + why], "'%s' stderr is %r, expected %r" % (cmd.label, cmd.err, "kleak: " + why))
    c.expect(not cmd.out.strip(), "'%s' printed on stdout: %.80r" % (cmd.label, cmd.out))
