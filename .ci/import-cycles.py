#!/usr/bin/env python3
"""Fails when the files of a crate import each other in a circle.

Usage: import-cycles.py CRATE_SRC_DIR...   (for example crates/passport-actix/src)

Each `.rs` file is a module (`foo/mod.rs` is `foo`, `lib.rs`/`main.rs` the crate root). A file
depends on the module a path it names leads to: `use crate::a::b::Item`, `super::x`,
`self::y`, a child module's name, or such a path written inline. A re-export (`pub use`,
`pub(crate) use`) is not a dependency of the file that writes it: a path through it leads to the
module that defines the item, so a facade such as `lib.rs` closes no circle. Comments, string
literals and a trailing `#[cfg(test)] mod tests` block are ignored.

Prints each strongly connected component of two files or more with its edges, and exits 1 if
there is one. A text-level reading, not a compiler's: a macro that builds paths is not seen.
"""

import os
import re
import sys


def modules(root):
    """Module path (a tuple of names) → file, for every `.rs` file under `root`."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            parts = os.path.relpath(os.path.join(folder, name), root)[:-3].split(os.sep)
            if parts[-1] == "mod":
                parts = parts[:-1]
            if parts == ["lib"]:
                parts = []
            elif parts == ["main"]:
                parts = ["<main>"]  # a binary's root beside the library's: a module of its own
            found[tuple(parts)] = os.path.join(folder, name)
    return found


LEXEMES = re.compile(
    r"//[^\n]*"  # a line comment
    r"|/\*.*?\*/"  # a block comment
    r'|b?r(#*)".*?"\1'  # a raw string
    r'|b?"(?:\\.|[^"\\])*"'  # a string
    r"|b?'(?:\\.|[^'\\])'",  # a character literal (a lifetime has no closing quote)
    re.S,
)


def code_of(path):
    """The file's text without comments, string contents and its unit-test module."""
    text = open(path, encoding="utf-8").read()
    # One pass, left to right, so that `//` inside a string or `"` inside a character literal
    # is read as what it is.
    text = LEXEMES.sub(lambda m: '""' if m.group(0).startswith(("\"", "'")) else " ", text)
    tests = text.find("#[cfg(test)]\nmod tests")
    return text if tests < 0 else text[:tests]


def expand(tree):
    """`a::{b, c::{d, e}}` → [`a::b`, `a::c::d`, `a::c::e`]."""
    tree = tree.strip()
    group = re.match(r"^(.*?)\{(.*)\}$", tree, re.S)
    if not group:
        return [tree]
    prefix, inner = group.group(1), group.group(2)
    parts, depth, current = [], 0, ""
    for ch in inner:
        depth += (ch == "{") - (ch == "}")
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [prefix + leaf for part in parts if part.strip() for leaf in expand(part)]


REEXPORT = re.compile(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);")
USE = re.compile(r"\buse\s+([^;]+);")
INLINE_PATH = re.compile(r"(?<![:\w])((?:crate|super|self|\w+)(?:::\w+)+)")


class Graph:
    def __init__(self, root):
        self.mods = modules(root)
        self.code = {m: code_of(f) for m, f in self.mods.items()}
        # module → exported name → the path its `pub use` names
        self.reexports = {m: {} for m in self.mods}
        for m, code in self.code.items():
            for statement in REEXPORT.finditer(code):
                for path in expand(statement.group(1)):
                    source, _, alias = path.partition(" as ")
                    name = (alias or source).strip().split("::")[-1]
                    self.reexports[m][name] = source.strip()

    def resolve(self, here, path, depth=0):
        """The module `path`, written in module `here`, leads to (None: another crate)."""
        segs = [s for s in path.replace(" ", "").split("::") if s]
        if not segs:
            return None
        if segs[0] == "crate":
            base, segs = (), segs[1:]
        elif segs[0] == "super":
            base = here
            while segs and segs[0] == "super":
                base, segs = base[:-1], segs[1:]
        elif segs[0] == "self":
            base, segs = here, segs[1:]
        elif here + (segs[0],) in self.mods:
            base = here
        else:
            return None
        while segs and base + (segs[0],) in self.mods:
            base, segs = base + (segs[0],), segs[1:]
        if segs and segs[0] in self.reexports.get(base, {}) and depth < 8:
            through = self.resolve(base, self.reexports[base][segs[0]], depth + 1)
            if through is not None:
                return through
        return base

    def edges(self):
        out = {m: set() for m in self.mods}
        for m, code in self.code.items():
            code = REEXPORT.sub("", code)
            paths = [p.split(" as ")[0] for s in USE.finditer(code) for p in expand(s.group(1))]
            paths += INLINE_PATH.findall(USE.sub("", code))
            for path in paths:
                target = self.resolve(m, path)
                if target is not None and target != m:
                    out[m].add(target)
        return out


def cycles(edges):
    """Strongly connected components of two modules or more (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    sys.setrecursionlimit(10_000)
    for v in edges:
        if v not in index:
            visit(v)
    return found


def main(roots):
    name = lambda m: "::".join(m) or "crate"
    failed = False
    for root in roots:
        edges = Graph(root).edges()
        found = cycles(edges)
        count = sum(len(e) for e in edges.values())
        print(f"{root}: {len(edges)} files, {count} imports, {len(found)} import cycles")
        for component in found:
            failed = True
            members = set(component)
            print("  cycle: " + ", ".join(sorted(name(m) for m in component)))
            for a in sorted(component):
                for b in sorted(edges[a] & members):
                    print(f"    {name(a)} -> {name(b)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
