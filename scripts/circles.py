#!/usr/bin/env python3
"""circles.py - the include-free dependency graph between source files, and
its circles.

File A depends on file B when A's object file uses a symbol that B's object
file defines (read with nm). A circle is a strongly connected component of
that graph with more than one file: those files cannot be understood, tested
or layered one after the other.

    scripts/circles.py BUILD_DIR [--allow FILE] [--graph]

Reads every object file of the libraries and programs under BUILD_DIR (test
objects are skipped: a test may reach into anything it tests). Prints each
circle as its files, with the symbols that close it. FILE lists the circles
that are allowed, one per line, as space-separated source paths relative to
the repository (`#` starts a comment); a circle is allowed when all of its
files appear together on one line. Exits 1 when a circle is not allowed,
0 otherwise; --graph also prints every edge.
"""
import os
import re
import subprocess
import sys


def objects(build):
    """The object files the build makes now (compile_commands.json), so
    objects left behind by files that moved are not read; every .c.o
    under BUILD_DIR when there is no such file."""
    cc = os.path.join(build, "compile_commands.json")
    if os.path.exists(cc):
        import json
        with open(cc) as f:
            for e in json.load(f):
                out = e.get("output")
                if not out:
                    m = re.search(r"-o (\S+\.c\.o)", e.get("command", ""))
                    out = m.group(1) if m else None
                if not out:
                    continue
                path = os.path.normpath(os.path.join(e["directory"], out))
                if "/tests/" not in path and "_shared.dir/" not in path and os.path.exists(path):
                    yield path
        return
    for root, _dirs, files in os.walk(build):
        if "/tests/" in root + "/" or "/CMakeFiles/CMakeTmp" in root or "_shared.dir" in root:
            continue
        for f in files:
            if f.endswith(".c.o"):
                yield os.path.join(root, f)


def source_of(obj):
    # build/release/runtime/CMakeFiles/fl_runtime.dir/src/saga.c.o
    m = re.search(r"/([^/]+)/CMakeFiles/[^/]+\.dir/(.+)\.o$", obj)
    if not m:
        return obj
    rel = os.path.relpath(obj, BUILD)
    top = rel.split("/CMakeFiles/")[0]
    return os.path.normpath(os.path.join(top, m.group(2)))


def symbols(obj):
    out = subprocess.run(["nm", "-P", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            used.add(name)
        elif kind in "TDRBCVWGS" or kind in "tdrbs" and False:
            defined.add(name)
    return defined, used


def tarjan(nodes, edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
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
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main(argv):
    global BUILD
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2
    BUILD = argv[1]
    allow = []
    graph = "--graph" in argv
    if "--allow" in argv:
        path = argv[argv.index("--allow") + 1]
        with open(path) as f:
            for line in f:
                line = line.split("#", 1)[0].split()
                if line:
                    allow.append(set(line))
    defs, uses = {}, {}
    for obj in objects(BUILD):
        src = source_of(obj)
        d, u = symbols(obj)
        defs[src], uses[src] = d, u
    owner = {}
    for src, d in defs.items():
        for s in d:
            owner.setdefault(s, src)
    edges, why = {}, {}
    for src, u in uses.items():
        for s in u:
            dst = owner.get(s)
            if dst and dst != src:
                edges.setdefault(src, set()).add(dst)
                why.setdefault((src, dst), []).append(s)
    if graph:
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f"{a} -> {b}: {' '.join(sorted(why[(a, b)])[:4])}")
    bad = 0
    comps = [c for c in tarjan(defs.keys(), edges) if len(c) > 1]
    for c in comps:
        ok = any(set(c) <= a for a in allow)
        print(f"{'allowed' if ok else 'CIRCLE'}: {len(c)} files: {' '.join(c)}")
        members = set(c)
        for a in c:
            for b in sorted(edges.get(a, ())):
                if b in members:
                    print(f"    {a} -> {b}: {' '.join(sorted(why[(a, b)])[:3])}")
        bad += not ok
    print(f"{len(defs)} files, {sum(len(v) for v in edges.values())} edges, "
          f"{len(comps)} circle(s), {bad} not allowed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
