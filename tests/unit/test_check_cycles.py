#!/usr/bin/python3
"""Unit test of scripts/check_cycles.py on small fixtures built with cc -c.

usage: test_check_cycles.py [CHECKER]   (CC in the environment names the compiler)

Each case writes a few .c/.h files into a temporary SRCDIR, compiles them
into a temporary OBJDIR under the names meson gives objects (X.c.o and
prefix_X.c.o), runs the checker and asserts its exit status and output.
"""

import atexit
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '..', '..', 'scripts', 'check_cycles.py')
CC = shlex.split(os.environ.get('CC', 'cc'))

failures = []


def build(files, objnames=None):
    """Write files into tmp/fix, compile each .c into tmp/obj; return (srcdir, objdir)."""
    tmp = tempfile.mkdtemp(prefix='check_cycles.')
    atexit.register(shutil.rmtree, tmp, True)
    src = os.path.join(tmp, 'fix')
    obj = os.path.join(tmp, 'obj')
    os.makedirs(src)
    os.makedirs(obj)
    for name, text in files.items():
        with open(os.path.join(src, name), 'w') as fh:
            fh.write(text)
    for name in files:
        if not name.endswith('.c'):
            continue
        out = (objnames or {}).get(name, name + '.o')
        subprocess.run(CC + ['-c', '-I', tmp, '-o', os.path.join(obj, out), os.path.join(src, name)],
                       check=True)
    return src, obj


def run(src, obj, *extra):
    res = subprocess.run(['/usr/bin/python3', CHECKER] + list(extra) + [src, obj],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    return res.returncode, res.stdout + res.stderr


def expect(name, cond, out):
    if cond:
        print('ok   %s' % name)
    else:
        print('FAIL %s\n%s' % (name, out))
        failures.append(name)


# Two modules calling each other: a call cycle, found from the objects alone
# (no include crosses between them), then broken by removing one call.
A_H = 'int a_get(void);\n'
B_H = 'int b_get(void);\n'
A_C = 'int b_get(void);\nint a_get(void) { return 1; }\nint a_twice(void) { return 2 * b_get(); }\n'
B_C_CALLS = 'int a_get(void);\nint b_get(void) { return a_get() + 1; }\n'
B_C_LEAF = 'int b_get(void) { return 7; }\n'
MAIN_C = 'int a_twice(void);\nint main(void) { return a_twice(); }\n'

src, obj = build({'a.h': A_H, 'a.c': A_C, 'b.h': B_H, 'b.c': B_C_CALLS, 'main.c': MAIN_C},
                 objnames={'b.c': 'fix_b.c.o'})
rc, out = run(src, obj)
expect('call cycle exits 1', rc == 1, out)
expect('call cycle names both modules', 'cycle of 2 modules' in out and ': a b' in out, out)
expect('call cycle gives the symbols', 'calls b_get' in out and 'calls a_get' in out, out)
expect('main is not in the cycle', 'main ->' not in out, out)

src, obj = build({'a.h': A_H, 'a.c': A_C, 'b.h': B_H, 'b.c': B_C_LEAF, 'main.c': MAIN_C},
                 objnames={'b.c': 'fix_b.c.o'})
rc, out = run(src, obj)
expect('one edge removed exits 0', rc == 0, out)
expect('one edge removed: all modules counted', 'no cycles among 3 modules' in out, out)
rc, out = run(src, obj, '--graph')
expect('--graph lists the edges', rc == 0 and 'a -> b' in out and 'main -> a' in out and 'b -> a' not in out, out)

# An include cycle through a header that has no .c: x.c includes "fix/shared.h",
# shared.h includes "x.h".  Comments that mention an include do not count.
src, obj = build({'x.h': 'int x_get(void);\n',
                  'x.c': '#include "fix/shared.h"\nint x_get(void) { return SHARED; }\n',
                  'shared.h': '#include "x.h"\n#define SHARED 3\n'})
rc, out = run(src, obj)
expect('include cycle via header-only module exits 1', rc == 1 and 'shared x' in out, out)
expect('include reason has file and line', 'include x.c:1 "fix/shared.h"' in out
       and 'include shared.h:1 "x.h"' in out, out)

src, obj = build({'x.h': 'int x_get(void);\n',
                  'x.c': '#include "fix/shared.h"\nint x_get(void) { return SHARED; }\n',
                  'shared.h': '/* #include "x.h" */\n// #include "x.h"\n#define SHARED 3\n'})
rc, out = run(src, obj)
expect('commented include is no edge', rc == 0 and 'no cycles among 2 modules' in out, out)

# "other/x.h" is another directory's header, not this one's.
src, obj = build({'x.h': 'int x_get(void);\n',
                  'x.c': '#include "fix/shared.h"\nint x_get(void) { return SHARED; }\n',
                  'shared.h': '#if 0\n#include "other/x.h"\n#endif\n#define SHARED 3\n'})
rc, out = run(src, obj, '--graph')
expect('include of another directory is no edge', rc == 0 and 'shared ->' not in out, out)

# A private header y_int.h belongs to module y: y.c including it and it
# including y.h is no cycle; z.c reaching into y_int.h while y calls z is.
src, obj = build({'y.h': 'int y_get(void);\n',
                  'y_int.h': '#include "fix/y.h"\nstruct y_state { int n; };\n',
                  'y.c': '#include "fix/y_int.h"\nint y_get(void) { struct y_state s = { 1 }; return s.n; }\n',
                  'z.h': 'int z_get(void);\n',
                  'z.c': '#include "fix/z.h"\nint z_get(void) { return 2; }\n'})
rc, out = run(src, obj)
expect('private header is part of its module', rc == 0 and 'no cycles among 2 modules' in out, out)

src, obj = build({'y.h': 'int y_get(void);\n',
                  'y_int.h': '#include "fix/y.h"\nstruct y_state { int n; };\n',
                  'y.c': '#include "fix/y_int.h"\n#include "fix/z.h"\nint y_get(void) { return z_get(); }\n',
                  'z.h': 'int z_get(void);\n',
                  'z.c': '#include "fix/y_int.h"\nint z_get(void) { struct y_state s = { 2 }; return s.n; }\n'})
rc, out = run(src, obj)
expect('reaching into a private header closes a cycle', rc == 1 and ': y z' in out, out)

# A .c file without an object is an error, not a silent pass.
src, obj = build({'a.h': A_H, 'a.c': A_C, 'b.h': B_H, 'b.c': B_C_LEAF})
os.unlink(os.path.join(obj, 'b.c.o'))
rc, out = run(src, obj)
expect('missing object exits 2', rc == 2 and 'no object for b.c' in out, out)

if failures:
    print('%d failed' % len(failures))
    sys.exit(1)
print('all passed')
