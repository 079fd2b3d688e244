#!/usr/bin/env python3
"""Host-side parser of the kleak lab's serial console log.

The guest frames everything with lines starting "@@KLEAK " (see
board-scripts/guest/init and guest/lib.sh):

    @@KLEAK boot uptime=0.95 kernel=6.1.0 machine=aarch64
    @@KLEAK begin NAME
      @@KLEAK cmd LABEL: ARGV...
      @@KLEAK stdout LABEL
      ...
      @@KLEAK stderr LABEL
      ...
      @@KLEAK rc LABEL RC SECS
      @@KLEAK file NAME md5=HEX      (base64 lines follow)
      @@KLEAK endfile NAME
      @@KLEAK nofile NAME
      @@KLEAK note KEY=VALUE
    @@KLEAK end NAME rc=N secs=S
    @@KLEAK done

Command line use (by lab.sh):
    labparse.py extract CONSOLE_LOG NAME OUT_FILE
        writes the lines between "begin NAME" and "end NAME" to OUT_FILE and
        prints the guest script's exit code; exits 1 with a reason on stderr
        when the scenario did not start or did not finish.
"""
import base64
import hashlib
import re
import sys

MARK = "@@KLEAK "


def read_lines(path):
    """The console log as text lines, without the serial line's \\r."""
    with open(path, "rb") as f:
        data = f.read()
    return [line.rstrip("\r") for line in data.decode("utf-8", "replace").split("\n")]


def _marker(line):
    """(keyword, rest) of a marker line, or None. Tolerates leading junk
    (a kernel message or a QEMU escape glued in front of the marker)."""
    i = line.find(MARK)
    if i < 0:
        return None
    kw, _, rest = line[i + len(MARK):].partition(" ")
    return kw, rest


def _why_not_started(lines):
    text = "\n".join(lines)
    panic = re.search(r"Kernel panic[^\n]*", text)
    if panic:
        return "the kernel panicked: " + panic.group(0).strip()
    if not any((_marker(l) or ("",))[0] == "boot" for l in lines):
        if not text.strip():
            return "QEMU printed nothing (did it start? see the .cmd file next to the log)"
        return "the kernel did not reach the lab's /init"
    return "/init ran but never started this scenario"


def extract(lines, name):
    """(section_lines, rc) for scenario NAME. Raises ValueError(reason)."""
    start = end = None
    rc = None
    for i, line in enumerate(lines):
        m = _marker(line)
        if not m:
            continue
        kw, rest = m
        if kw == "begin" and rest.strip() == name and start is None:
            start = i
        elif kw == "end" and start is not None and rest.split(" ")[0] == name:
            end = i
            got = re.search(r"\brc=(-?\d+)", rest)
            rc = int(got.group(1)) if got else None
            break
    if start is None:
        raise ValueError("scenario %s never started: %s" % (name, _why_not_started(lines)))
    if end is None:
        body = [l for l in lines[start + 1:] if l.strip() and not l.startswith("qemu-system")]
        last = body[-1].strip() if body else "(nothing)"
        text = "\n".join(lines[start:])
        panic = re.search(r"Kernel panic[^\n]*|Unable to handle kernel[^\n]*|Internal error:[^\n]*", text)
        why = "kernel crash: " + panic.group(0).strip() if panic else "last line: " + last
        raise ValueError("scenario %s did not finish (timeout or crash); %s" % (name, why))
    return lines[start + 1:end], rc


def join_wrapped(lines):
    """kleak wraps a long message at 80 columns and indents its continuation lines
    under the text after `kleak: `: one message per entry again, as tests/common's
    messages() does."""
    out = []
    for line in lines:
        if out and out[-1].startswith("kleak: ") and line.startswith(" " * 7) and line.strip():
            out[-1] += " " + line.strip()
        else:
            out.append(line)
    return out


class Cmd:
    """One lab_run command: label, argv, stdout and stderr lines, rc, secs."""

    def __init__(self, label, argv):
        self.label = label
        self.argv = argv
        self.stdout = []
        self.stderr = []
        self.rc = None
        self.secs = None

    @property
    def out(self):
        return "\n".join(self.stdout)

    @property
    def err(self):
        return "\n".join(self.stderr)

    def __repr__(self):
        return "Cmd(%r, rc=%r)" % (self.label, self.rc)


class Section:
    """A scenario's output, parsed: cmds (by label, in order), files (name ->
    bytes), notes (key -> value), other (unframed lines), problems."""

    def __init__(self, lines):
        self.lines = lines
        self.cmds = {}
        self.files = {}
        self.nofiles = set()
        self.notes = {}
        self.other = []
        self.problems = []
        self._parse()

    @classmethod
    def load(cls, path):
        return cls(read_lines(path))

    def _parse(self):
        target = self.other
        cmd = None
        fname = fmd5 = None
        b64 = []
        for line in self.lines:
            m = _marker(line)
            if m is None:
                if fname is not None:
                    b64.append(line.strip())
                else:
                    target.append(line)
                continue
            kw, rest = m
            if kw == "cmd":
                label, _, argv = rest.partition(": ")
                cmd = Cmd(label.rstrip(":"), argv)
                self.cmds[cmd.label] = cmd
                target = self.other
            elif kw == "stdout" and cmd is not None:
                target = cmd.stdout
            elif kw == "stderr" and cmd is not None:
                target = cmd.stderr
            elif kw == "rc" and cmd is not None:
                cmd.stderr = join_wrapped(cmd.stderr)
                parts = rest.split()
                try:
                    cmd.rc = int(parts[1])
                    cmd.secs = float(parts[2]) if len(parts) > 2 else None
                except (IndexError, ValueError):
                    self.problems.append("bad rc line: " + line)
                target = self.other
                cmd = None
            elif kw == "file":
                fname, _, md5 = rest.rpartition(" md5=")
                fmd5 = md5.strip()
                b64 = []
            elif kw == "endfile" and fname is not None:
                try:
                    data = base64.b64decode("".join(b64), validate=True)
                except ValueError as e:
                    self.problems.append("file %s: bad base64 (%s)" % (fname, e))
                else:
                    if hashlib.md5(data).hexdigest() != fmd5:
                        self.problems.append("file %s: md5 mismatch (console garbled?)" % fname)
                    else:
                        self.files[fname] = data
                fname = None
            elif kw == "nofile":
                self.nofiles.add(rest.strip())
            elif kw == "note":
                key, _, value = rest.partition("=")
                self.notes[key.strip()] = value.strip()
            else:
                target.append(line)


def slabinfo_rows(text):
    """[(name, dict(active_objs, num_objs, objsize))] from /proc/slabinfo text
    (the lab kernel's 2.1 format), in file order; names may repeat."""
    rows = []
    for line in text.splitlines():
        if line.startswith("slabinfo") or line.startswith("#") or not line.strip():
            continue
        f = line.split()
        try:
            rows.append((f[0], {"active_objs": int(f[1]), "num_objs": int(f[2]), "objsize": int(f[3])}))
        except (IndexError, ValueError):
            continue
    return rows


def parse_slabinfo(text):
    """{name: row} from slabinfo_rows(); of duplicate names the first row wins
    (the most recently created cache: the kernel lists newest first)."""
    rows = {}
    for name, row in slabinfo_rows(text):
        rows.setdefault(name, row)
    return rows


def main(argv):
    if len(argv) != 5 or argv[1] != "extract":
        print(__doc__, file=sys.stderr)
        return 2
    _, _, log, name, out = argv
    try:
        section, rc = extract(read_lines(log), name)
    except ValueError as e:
        print(str(e), file=sys.stderr)
        return 1
    with open(out, "w") as f:
        f.write("\n".join(section) + "\n")
    if rc is None:
        print("scenario %s: end marker without rc" % name, file=sys.stderr)
        return 1
    print(rc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
