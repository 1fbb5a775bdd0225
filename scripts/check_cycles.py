#!/usr/bin/python3
"""Fail when the modules of one directory depend on each other in a cycle.

usage: check_cycles.py [--graph] SRCDIR OBJDIR [OBJDIR...]

  e.g. check_cycles.py src/autotunneld build-san/src/autotunneld/autotunneld.p
       check_cycles.py lib/ike build-san/lib/ike/libat_ike.a.p

A module X is X.c together with X.h in SRCDIR (files directly in it).  A
header without a .c is a module of its own, with include edges only, except
a private header X_int.h next to X.c, which belongs to module X (it is the
module's own internals, and counting it apart would report every module
with a private header as a cycle of two).

X -> Y (X depends on Y, Y != X) when
  - a file of X has  #include "Y.h"  or  #include "some/dir/Y.h"  that
    names a header of SRCDIR (matched on the path's tail, as the compiler
    finds it through the include directories or next to the includer), or
  - the object of X.c has an undefined symbol (nm -u) that the object of
    Y.c defines as a global symbol (nm --defined-only, upper-case type).

Objects are found in the OBJDIRs (searched recursively) by the name meson
gives them: X.c.o, or <prefix>_X.c.o for sources outside the target's
directory.  Several OBJDIRs may be given when the files of SRCDIR are
built into more than one target (a static library and the executable).
A .c file with no object is an error: a check that silently skips files
could not fail.

Prints every strongly connected component of more than one module, with
each edge inside it and why it exists, and exits 1; otherwise prints
"no cycles among N modules" and exits 0.  Exit 2 on usage or setup errors.
--graph prints every edge (with reasons) before the verdict.
"""

import os
import re
import subprocess
import sys

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def strip_comments(text):
    """Blank out /* */ and // comments, keeping line numbers."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(''.join('\n' if ch == '\n' else ' ' for ch in text[i:j]))
            i = j
        elif text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            i = j
        elif c == '"' or c == "'":
            # copy a string or char literal whole so that "/*" inside one
            # is not taken for a comment
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def find_modules(srcdir):
    """Return {module: [files]} and {header path: module}."""
    names = sorted(os.listdir(srcdir))
    cfiles = {f[:-2] for f in names if f.endswith('.c')}
    hfiles = {f[:-2] for f in names if f.endswith('.h')}
    modules = {}
    header_of = {}
    for stem in sorted(cfiles | hfiles):
        owner = stem
        if stem not in cfiles and stem.endswith('_int') and stem[:-4] in cfiles:
            owner = stem[:-4]
        files = modules.setdefault(owner, [])
        if stem in cfiles:
            files.append(stem + '.c')
        if stem in hfiles:
            files.append(stem + '.h')
            header_of[stem + '.h'] = owner
    return modules, header_of


def resolve_include(path, header_of, srcdir_name):
    """The module whose header `path` names, or None.

    "Y.h" is looked up next to the includer (SRCDIR itself); "d/Y.h" must
    end in SRCDIR's own name ("autotunneld/agent.h" in src/autotunneld),
    which is how the project includes its headers ("agent/name.h" in
    src/autotunneld is lib/agent's, not a header of this directory).
    """
    parts = os.path.normpath(path).split(os.sep)
    if len(parts) == 1:
        return header_of.get(parts[0])
    if parts[-2] != srcdir_name:
        return None
    return header_of.get(parts[-1])


def include_edges(srcdir, modules, header_of):
    edges = {}
    srcdir_name = os.path.basename(os.path.normpath(os.path.abspath(srcdir)))
    for mod, files in modules.items():
        for f in files:
            with open(os.path.join(srcdir, f), encoding='utf-8', errors='replace') as fh:
                text = strip_comments(fh.read())
            for lineno, line in enumerate(text.split('\n'), 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                target = resolve_include(m.group(1), header_of, srcdir_name)
                if target is None or target == mod:
                    continue
                edges.setdefault((mod, target), []).append(
                    'include %s:%d "%s"' % (f, lineno, m.group(1)))
    return edges


def find_objects(objdirs, cmods):
    """Map module -> object path for every module with a .c file."""
    candidates = {}
    for d in objdirs:
        for root, _dirs, files in os.walk(d):
            for f in files:
                if f.endswith('.c.o'):
                    candidates.setdefault(f, []).append(os.path.join(root, f))
    found, errors = {}, []
    for mod in cmods:
        want = mod + '.c.o'
        hits = list(candidates.get(want, []))
        if not hits:
            for name, paths in candidates.items():
                if name.endswith('_' + want):
                    hits.extend(paths)
        if len(hits) == 1:
            found[mod] = hits[0]
        elif not hits:
            errors.append('no object for %s.c in %s' % (mod, ' '.join(objdirs)))
        else:
            errors.append('several objects for %s.c: %s' % (mod, ' '.join(sorted(hits))))
    return found, errors


def nm(args, obj):
    try:
        res = subprocess.run(['nm'] + args + [obj], check=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit('check_cycles: nm %s: %s' % (obj, e))
    return res.stdout.splitlines()


def symbol_edges(objects):
    defined_by = {}
    for mod, obj in objects.items():
        for line in nm(['--defined-only'], obj):
            parts = line.split()
            if len(parts) < 3:
                continue
            kind, sym = parts[-2], parts[-1]
            # upper case: global (T text, D data, B bss, R rodata, C common,
            # G/S small data, V/W weak); lower case: static, not a link edge
            if kind.isupper() and kind not in ('U', 'A', 'N'):
                defined_by.setdefault(sym, set()).add(mod)
    edges = {}
    for mod, obj in objects.items():
        for line in nm(['-u'], obj):
            parts = line.split()
            if not parts:
                continue
            sym = parts[-1]
            for owner in sorted(defined_by.get(sym, ())):
                if owner != mod:
                    edges.setdefault((mod, owner), []).append('calls %s' % sym)
    return edges


def tarjan(nodes, succ):
    """Strongly connected components, iteratively (no recursion limit)."""
    index, low, on_stack = {}, {}, set()
    stack, sccs, counter = [], [], 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ.get(w, ()))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                sccs.append(sorted(comp))
    return sccs


def main(argv):
    graph = False
    args = []
    for a in argv[1:]:
        if a == '--graph':
            graph = True
        elif a in ('-h', '--help'):
            print(__doc__)
            return 0
        else:
            args.append(a)
    if len(args) < 2:
        sys.stderr.write('usage: check_cycles.py [--graph] SRCDIR OBJDIR [OBJDIR...]\n')
        return 2
    srcdir, objdirs = args[0], args[1:]
    for d in [srcdir] + objdirs:
        if not os.path.isdir(d):
            sys.stderr.write('check_cycles: %s: not a directory\n' % d)
            return 2

    modules, header_of = find_modules(srcdir)
    cmods = [m for m, files in modules.items() if m + '.c' in files]
    objects, errors = find_objects(objdirs, cmods)
    if errors:
        for e in errors:
            sys.stderr.write('check_cycles: %s\n' % e)
        return 2

    edges = include_edges(srcdir, modules, header_of)
    for key, reasons in symbol_edges(objects).items():
        edges.setdefault(key, []).extend(reasons)

    succ = {}
    for (a, b) in sorted(edges):
        succ.setdefault(a, []).append(b)

    def show_edge(a, b):
        print('  %s -> %s' % (a, b))
        for r in edges[(a, b)]:
            print('      %s' % r)

    if graph:
        print('edges in %s:' % srcdir)
        for (a, b) in sorted(edges):
            show_edge(a, b)

    cycles = [c for c in tarjan(sorted(modules), succ) if len(c) > 1]
    if not cycles:
        print('no cycles among %d modules in %s' % (len(modules), srcdir))
        return 0
    for comp in sorted(cycles):
        members = set(comp)
        print('cycle of %d modules in %s: %s' % (len(comp), srcdir, ' '.join(comp)))
        for (a, b) in sorted(edges):
            if a in members and b in members:
                show_edge(a, b)
    return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
