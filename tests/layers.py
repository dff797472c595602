#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""layers: check that tapyard's layering holds by construction.

Each source folder is a layer, lowest first:

  0 dataplane/ (and its subfolders)   the switch
  1 bpf/                              capture
  2 control/guest/                    guests and OS plumbing
  3 control/agent/                    the guest agent (a program of its own)
  3 control/vocab/                    the command vocabulary
  4 control/daemon/, control/cli/, lua/   its users (siblings: none sees another)
  5 tapyard.c                         the entry point

A file may include headers of its own folder and of lower layers only; lua/
speaks the vocabulary only (of lower layers it sees control/vocab/ and the
process-wide log.h, clock.h and interrupt.h); control/agent/ is the
guest agent, a static program run inside QEMU guests: it sees control/guest/
and below, and no other folder includes it. NAME_impl.h and NAME_internal.h
are seen from their own folder only. A module is a .c file and the .h
of the same name (with NAME_impl.h or NAME_internal.h, its inside); there must be no include cycle between modules of different
folders, and none through the data path's modules (loop, fwd, tx,
impair/); what the objects call of each other has no cycle in the dataplane
at all.

Headers can hide a cycle (two .c files that call each other through one
shared header), so with --libs the same cycle rules are checked on what the
objects of the given static libraries really call of each other (nm).

Usage: layers.py [SOURCE_ROOT] [--libs LIB.a...]. Prints each violation;
exit 1 when any.
"""
import os
import re
import subprocess
import sys

LAYERS = [
    ("dataplane", 0), ("bpf", 1), ("control/guest", 2), ("control/agent", 3), ("control/vocab", 3),
    ("control/daemon", 4), ("control/cli", 4), ("lua", 4), ("tapyard.c", 5),
]
LUA_MAY_SEE = {"log.h", "clock.h", "interrupt.h"}
# The data path's modules: no include cycle may touch them (the command side's
# dp.c and cmdq.c share struct dp's header with them, which is no dependency).
PATH_MODULES = r"dataplane/(loop|fwd|tx|impair/.*)$"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(rel):
    """The layer folder of a path relative to the root, or None (tests, bench)."""
    for name, _ in LAYERS:
        if rel == name or rel.startswith(name + "/"):
            return name
    return None


def layer_of(folder):
    return dict(LAYERS)[folder]


def sources(root):
    """Every .c and .h of the layered folders: {relative path: folder}."""
    found = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), root)
            folder = folder_of(rel)
            if folder and f.endswith((".c", ".h")) and not rel.startswith("build"):
                found[rel] = folder
    return found


def resolve(rel, name, by_base, root):
    """The file an #include "name" of rel means: its own directory first, then the tree."""
    here = os.path.normpath(os.path.join(os.path.dirname(rel), name))
    if os.path.exists(os.path.join(root, here)):
        return here
    hits = by_base.get(os.path.basename(name), [])
    return hits[0] if len(hits) == 1 else None


def module(rel):
    """A .c and its .h are one module; so are NAME_impl.h and NAME_internal.h, NAME's inside."""
    return re.sub(r"_(impl|internal)$", "", os.path.splitext(rel)[0])


def check_includes(root, files):
    """Layer violations, and the module graph (module -> modules it includes)."""
    by_base = {}
    for rel in files:
        by_base.setdefault(os.path.basename(rel), []).append(rel)
    errors, graph = [], {}
    for rel, folder in sorted(files.items()):
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        graph.setdefault(module(rel), set())
        for name in INCLUDE.findall(text):
            target = resolve(rel, name, by_base, root)
            if target is None:
                continue  # a generated header (cap.skel.h) or a system one
            tfolder = files[target]
            if tfolder != folder and re.search(r"_(impl|internal)\.h$", target):
                errors.append(f"{rel}: includes {target}, the inside of a module of "
                              f"{tfolder}/")
            elif tfolder != folder and tfolder == "control/agent":
                errors.append(f"{rel}: includes {target}: control/agent/ is the guest's "
                              f"program, no layer includes it")
            elif tfolder != folder:
                mine, theirs = layer_of(folder), layer_of(tfolder)
                if theirs >= mine:
                    errors.append(f"{rel}: includes {target}, which is in layer "
                                  f"{tfolder}/ (not below {folder}/)")
                elif folder == "lua" and tfolder != "control/vocab" and \
                        os.path.basename(target) not in LUA_MAY_SEE:
                    errors.append(f"{rel}: includes {target}: lua/ speaks the "
                                  f"vocabulary only (control/vocab/)")
            if module(target) != module(rel):
                graph[module(rel)].add(module(target))
    return errors, graph


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def symbol_graph(libs, files):
    """Module -> modules whose functions or data its object uses, from nm."""
    # meson names an object by its source's path below the library's folder, "/" as "_"
    # (impair/dq.c: impair_dq.c.o): index every tail of every source's path that way.
    by_base = {}
    for rel in sorted((r for r in files if r.endswith(".c")), key=lambda r: -r.count("/")):
        parts = rel.split("/")
        for i in range(len(parts)):
            by_base.setdefault("_".join(parts[i:]), rel)
    defs, uses = {}, {}
    for lib in libs:
        out = subprocess.run(["nm", "-A", lib], capture_output=True, text=True, check=True)
        for line in out.stdout.splitlines():
            obj = line.split(":")[1] if line.count(":") >= 2 else ""
            fields = line.split()
            if len(fields) < 2:
                continue
            kind, sym = fields[-2], fields[-1]
            src = by_base.get(os.path.basename(obj).removesuffix(".o"))
            if not src:
                continue
            if kind in "TDRB":
                defs[sym] = module(src)
            elif kind == "U":
                uses.setdefault(module(src), set()).add(sym)
    graph = {m: set() for m in set(defs.values()) | set(uses)}
    for m, syms in uses.items():
        graph[m] |= {defs[s] for s in syms if s in defs and defs[s] != m}
    return graph


def cycle_errors(graph, what):
    errors = []
    for comp in cycles(graph):
        folders = {folder_of(m + ".c") or folder_of(m + ".h") for m in comp}
        if len(folders) > 1:
            errors.append(f"{what} cycle across folders: " + " -> ".join(comp))
        elif folders == {"dataplane"} and (what == "call" or any(
                re.match(PATH_MODULES, m) for m in comp)):
            errors.append(f"{what} cycle in the dataplane: " + " -> ".join(comp))
    return errors


def self_test():
    """The checker must see each kind of violation in a small tree of its own."""
    import tempfile
    cases = {
        "dataplane/a.c": '#include "ctl.h"\n',       # up a layer
        "control/vocab/ctl.h": '#include "cli.h"\n',  # up to a user
        "control/cli/cli.h": '#include "tylua.h"\n',  # a sibling
        "lua/tylua.h": '#include "guest.h"\n',        # lua past the vocabulary
        "control/daemon/d.c": '#include "ctl_impl.h"\n', "control/vocab/ctl_impl.h": "",
        "control/guest/guest.h": "",
        "control/cli/c.c": '#include "agent.h"\n', "control/agent/agent.h": "",  # the agent
        "dataplane/fwd.c": '#include "tx.h"\n', "dataplane/fwd.h": "",
        "dataplane/tx.c": '#include "fwd.h"\n', "dataplane/tx.h": "",  # a data path cycle
    }
    with tempfile.TemporaryDirectory() as root:
        for rel, text in cases.items():
            os.makedirs(os.path.join(root, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as fh:
                fh.write(text)
        files = sources(root)
        errors, graph = check_includes(root, files)
        errors += cycle_errors(graph, "include")
    want = ["dataplane/a.c: includes control/vocab/ctl.h", "control/vocab/ctl.h: includes",
            "control/cli/cli.h: includes lua/tylua.h", "lua/tylua.h: includes control/guest",
            "control/daemon/d.c: includes control/vocab/ctl_impl.h, the inside",
            "control/cli/c.c: includes control/agent/agent.h: control/agent/",
            "include cycle in the dataplane: dataplane/fwd -> dataplane/tx"]
    missing = [w for w in want if not any(e.startswith(w) for e in errors)]
    for w in missing:
        print("layers: self-test: not caught: " + w)
    return 1 if missing or len(errors) != len(want) else 0


def main():
    args = sys.argv[1:]
    if self_test():
        return 1
    libs = args[args.index("--libs") + 1:] if "--libs" in args else []
    args = args[:args.index("--libs")] if "--libs" in args else args
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), ".."))
    files = sources(root)
    if not files:
        print(f"layers: no sources under {root}")
        return 1
    errors, graph = check_includes(root, files)
    errors += cycle_errors(graph, "include")
    if libs:
        errors += cycle_errors(symbol_graph(libs, files), "call")
    for e in errors:
        print("layers: " + e)
    print(f"layers: {len(files)} files, {sum(len(v) for v in graph.values())} module "
          f"edges, {len(errors)} violations")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
