#!/usr/bin/env python3
"""check-includes.py: the header rules of docs/design.md ("Layout and
dependencies"), checked on every .c and .h file of the project.

  check-includes.py ROOT            check; exit 1 and one line per violation
  check-includes.py ROOT --graph    print the library graph (folder -> the
                                    libraries whose headers it includes)
  check-includes.py --self-test     plant each kind of violation in a scratch
                                    tree and check that each is reported

The rules:
  relative       no include names a path with '.' or '..' components;
  path           a quoted include is a path from the project root to a file
                 of the project ("ir/ir.h"), or a generated file under the
                 build tree ("gen/...");
  public         a library folder has one public header, named after it
                 (ir/ir.h; api/'s is api/naasc.h, the installed <naasc.h>); other headers of a folder are its internal.h, which
                 only files of that folder include (tests/ and tools/ headers
                 likewise, from their own folders only);
  prototype      a .c file declares no function it does not define itself,
                 and no variable with extern: declarations come from headers;
  graph          the libraries' include graph has no cycle;
  system         only frontend/onnx.c includes the protobuf-c generated
                 header, only codegen/codegen.c includes <llvm-c/...>, only
                 runtime/ffi.c includes <ffi.h>.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

LIBRARIES = ["ir", "host", "frontend", "stream", "backend", "codegen", "runtime", "search", "passes", "api"]
PUBLIC = {"api": "naasc.h"}  # a library whose public header is not named after its folder
CLIENTS = ["tools", "bench", "tests"]
FOLDERS = LIBRARIES + CLIENTS
ONLY_FILE = [  # (pattern of an include, the one file allowed to include it)
    (re.compile(r'^"gen/onnx/'), "frontend/onnx.c"),
    (re.compile(r"^<llvm-c/"), "codegen/codegen.c"),
    (re.compile(r"^<ffi\.h>"), "runtime/ffi.c"),
]
INCLUDE = re.compile(r'^\s*#\s*include\s+([<"][^>"]+[>"])', re.M)
KEYWORDS = {"if", "while", "for", "switch", "return", "sizeof", "__attribute__", "_Alignof",
            "_Static_assert", "defined", "alignof", "typeof", "__typeof__"}


def sources(root):
    for top in FOLDERS:
        for dirpath, dirnames, files in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")


def folder(path):
    return path.split("/", 1)[0]


def strip(text):
    """Comments, string and character literals and preprocessor lines blanked
    (newlines kept, so offsets still give line numbers)."""
    out, i, n = [], 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c == "#" or (at_line_start and c in " \t" and text[i:].lstrip(" \t").startswith("#")):
            j = i
            while j < n:  # the directive and its continuation lines
                k = text.find("\n", j)
                if k < 0:
                    k = n
                if text[j:k].rstrip().endswith("\\"):
                    j = k + 1
                    continue
                j = k
                break
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + c)
            i = j + 1
            continue
        out.append(c)
        at_line_start = c == "\n" or (at_line_start and c in " \t")
        i += 1
    return "".join(out)


def top_level(code):
    """The file-scope declarations of stripped C code: (text, offset, kind)
    with kind 'decl' (ends with ';') or 'def' (a function body follows)."""
    chunks, start, i, n = [], 0, 0, len(code)
    while i < n:
        c = code[i]
        if c == ";":
            chunks.append((code[start:i], start, "decl"))
            start = i + 1
        elif c == "{":
            head = code[start:i]
            depth, j = 1, i + 1
            while j < n and depth:
                depth += {"{": 1, "}": -1}.get(code[j], 0)
                j += 1
            if re.search(r"\)\s*$", head) and not re.search(r"=\s*$", head) and not re.match(r"\s*(typedef|struct|union|enum)\b", head):
                chunks.append((head, start, "def"))
                start = j
            i = j
            continue
        i += 1
    return chunks


def declarator(text):
    """The name of the function a file-scope declaration declares, or None."""
    while True:  # struct, union and enum bodies, and initializers, say nothing
        t = re.sub(r"\{[^{}]*\}", " ", text)
        if t == text:
            break
        text = t
    depth = 0
    for m in re.finditer(r"[A-Za-z_]\w*|[()=\[\]]", text):
        tok = m.group(0)
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
        elif tok in "=[]" and depth == 0:
            return None  # an initialized variable or an array
        elif depth == 0 and tok not in KEYWORDS:
            rest = text[m.end():].lstrip()
            if rest.startswith("(") and not rest[1:].lstrip().startswith("*"):
                return tok
    return None


def check(root):
    errors = []
    files = list(sources(root))
    known = set(files)
    graph = {lib: set() for lib in LIBRARIES}

    def err(path, line, rule, msg):
        errors.append(f"{path}:{line}: {rule}: {msg}")

    for path in files:
        text = open(os.path.join(root, path), encoding="utf-8", errors="replace").read()
        here = folder(path)
        for m in INCLUDE.finditer(text):
            inc = m.group(1)
            line = text.count("\n", 0, m.start()) + 1
            name = inc[1:-1]
            for pat, only in ONLY_FILE:
                if pat.match(inc) and path != only:
                    err(path, line, "system", f"{inc} may be included only by {only}")
            if inc.startswith("<"):
                continue
            parts = name.split("/")
            if "." in parts or ".." in parts or name.startswith("/"):
                err(path, line, "relative", f"{inc} is relative; include headers by their path from the project root")
                continue
            if parts[0] == "gen":
                continue  # generated, in the build tree
            if name not in known:
                err(path, line, "path", f"{inc} is not a path from the project root to one of its headers")
                continue
            there = parts[0]
            base = parts[-1]
            public = PUBLIC.get(there, there + ".h")
            if there in LIBRARIES and len(parts) == 2 and base == public:
                if there != here and here in LIBRARIES:
                    graph[here].add(there)
                continue  # a public header
            if base == "internal.h" or there in CLIENTS:
                if there != here:
                    err(path, line, "public", f"{inc} is internal to {there}/ (its interface is {there}/{public})")
                continue
            err(path, line, "public", f"{inc} is neither {there}/'s public header {there}/{public} nor its internal.h")
        if path.endswith(".c"):
            code = strip(text)
            chunks = top_level(code)
            defined = {declarator(t) for t, _, k in chunks if k == "def"}
            for t, off, kind in chunks:
                if kind != "decl" or re.match(r"\s*(typedef|static)\b", t):
                    continue
                line = code.count("\n", 0, off + len(t) - len(t.lstrip())) + 1
                fn = declarator(t)
                if fn and fn not in defined:
                    err(path, line, "prototype", f"declares {fn}(), which it does not define: include the header that declares it")
                elif not fn and re.match(r"\s*extern\b", t):
                    err(path, line, "prototype", "an extern declaration: include the header that declares it")
    # cycles between libraries
    state = {}

    def visit(lib, stack):
        state[lib] = 1
        for dep in sorted(graph[lib]):
            if state.get(dep) == 1:
                cyc = stack[stack.index(dep):] + [dep]
                errors.append("graph: the libraries include each other in a cycle: " + " -> ".join(cyc))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[lib] = 2

    for lib in LIBRARIES:
        if lib not in state:
            visit(lib, [lib])
    return errors, graph


def print_graph(graph):
    for lib in LIBRARIES:
        deps = [d for d in LIBRARIES if d in graph[lib]]
        print(f"{lib:9} -> {' '.join(deps) if deps else '(none)'}")


PLANTS = {  # a file of a scratch copy, what to put in it, the rule it breaks
    "runtime/plant_relative.c": ('#include "../ir/ir.h"\n', "relative"),
    "search/plant_internal.c": ('#include "runtime/internal.h"\n', "public"),
    "backend/plant_header.c": ('#include "backend/other.h"\n', "path"),
    "passes/plant_proto.c": ("#include \"passes/passes.h\"\nRc lower_model(const Model *g, Module **out,\n"
                             "               Diag *d); /* typed by hand */\n", "prototype"),
    "tools/plant_extern.c": ("extern int naasc_verbose;\n", "prototype"),
    "ir/plant_cycle.c": ('#include "passes/passes.h"\n', "graph"),
    "passes/plant_llvm.c": ("#include <llvm-c/Core.h>\n", "system"),
}


def self_test():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ok = True
    with tempfile.TemporaryDirectory(prefix="naasc-check-includes-") as tmp:
        for path in sources(here):
            os.makedirs(os.path.join(tmp, os.path.dirname(path)), exist_ok=True)
            shutil.copy(os.path.join(here, path), os.path.join(tmp, path))
        errors, _ = check(tmp)
        if errors:
            print("self-test: the clean tree already has violations:\n  " + "\n  ".join(errors))
            return 1
        for path, (text, rule) in PLANTS.items():
            with open(os.path.join(tmp, path), "w") as f:
                f.write(text)
            errors, _ = check(tmp)
            hit = [e for e in errors if (e.startswith(path) or rule == "graph") and f" {rule}: " in e
                   or (rule == "graph" and e.startswith("graph:"))]
            print(f"{'caught' if hit else 'MISSED'} {rule:9} {path}: {hit[0] if hit else errors}")
            ok = ok and bool(hit)
            os.remove(os.path.join(tmp, path))
        # and through the command line: the exit code is 1
        with open(os.path.join(tmp, "runtime/plant_relative.c"), "w") as f:
            f.write('#include "../ir/ir.h"\n')
        p = subprocess.run([sys.executable, os.path.abspath(__file__), tmp], capture_output=True, text=True)
        print(f"command line on a planted violation: exit {p.returncode}")
        ok = ok and p.returncode == 1
    print("self-test: " + ("every planted violation was caught" if ok else "FAILED"))
    return 0 if ok else 1


def main():
    args = sys.argv[1:]
    if args == ["--self-test"]:
        return self_test()
    if not args or len(args) > 2 or (len(args) == 2 and args[1] != "--graph"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    errors, graph = check(args[0])
    if len(args) == 2:
        print_graph(graph)
    for e in errors:
        print(e)
    if errors:
        print(f"check-includes: {len(errors)} violation(s) (docs/design.md, \"Layout and dependencies\")")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
