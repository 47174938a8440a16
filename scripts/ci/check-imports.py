#!/usr/bin/env python3
"""Fails when a target imports what scripts/ci/import-rules.txt forbids.

    python3 scripts/ci/check-imports.py [--rules FILE] [--root DIR]

Reads every `.swift` file under Sources/, Tests/ and Benchmarks/, takes each import line (any
attributes, access level or declaration kind in front of the module name) and checks it against
the rules. Prints one line per violation naming the file, the import and the rule, and exits 1;
exits 0 and prints a one-line summary when every import is allowed. Standard library only.
"""

import argparse
import re
import sys
from pathlib import Path

IMPORT = re.compile(
    r"^\s*(?:@[\w]+(?:\([^)]*\))?\s+)*"  # @testable, @_implementationOnly, @preconcurrency, ...
    r"(?:(?:public|package|internal|fileprivate|private)\s+)?"
    r"import\s+(?:(?:typealias|struct|class|enum|protocol|let|var|func)\s+)?"
    r"([A-Za-z_]\w*)"
)
RULE = re.compile(r"^(\S+)\s+(!>|=>|<=)\s*(.*)$")
GROUP = re.compile(r"^(@\w+)\s*=(?!>)\s*(.*)$")  # `@name = ...`, not a rule `@name => ...`


class Rule:
    def __init__(self, line_number, text, left, kind, right):
        self.line_number, self.text, self.left, self.kind, self.right = line_number, text, left, kind, right

    def violated_by(self, importer, imported):
        if self.kind == "!>":
            return self.left(importer) and self.right(imported)
        if self.kind == "=>":
            return self.left(importer) and not self.right(imported)
        return self.left(imported) and not self.right(importer)  # "<=": only right imports left


def parse_rules(path, source_targets):
    # `@sources` is every target under Sources/, so a new shipping target is covered without an edit.
    groups, rules = {"@sources": set(source_targets)}, []

    def matcher(names, line_number):
        expanded = set()
        for name in names:
            if name == "*":
                return lambda _: True
            if name.startswith("@"):
                if name not in groups:
                    sys.exit(f"{path}:{line_number}: unknown group {name}")
                expanded |= groups[name]
            else:
                expanded.add(name)
        return lambda target: target in expanded

    for line_number, raw in enumerate(path.read_text().splitlines(), 1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        group = GROUP.match(text)
        if group:
            groups[group.group(1)] = set(group.group(2).split())
            continue
        match = RULE.match(text)
        if not match:
            sys.exit(f"{path}:{line_number}: cannot read rule: {raw}")
        left, kind, right = match.group(1), match.group(2), match.group(3).split()
        rules.append(
            Rule(line_number, " ".join(text.split()), matcher([left], line_number), kind,
                 matcher(right, line_number)))
    return rules


def target_of(relative):
    parts = relative.parts
    if parts[0] == "Benchmarks":
        return "Benchmarks"
    return parts[1]  # Sources/<target>/... or Tests/<target>/...


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root_default = Path(__file__).resolve().parents[2]
    parser.add_argument("--root", type=Path, default=root_default)
    parser.add_argument("--rules", type=Path, default=None)
    arguments = parser.parse_args()
    root = arguments.root
    rules_path = arguments.rules or root / "scripts" / "ci" / "import-rules.txt"
    rules = parse_rules(rules_path, sorted(path.name for path in (root / "Sources").iterdir() if path.is_dir()))

    violations, files, imports = [], 0, 0
    for top in ("Sources", "Tests", "Benchmarks"):
        for path in sorted((root / top).rglob("*.swift")):
            relative = path.relative_to(root)
            importer = target_of(relative)
            files += 1
            for line_number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                match = IMPORT.match(line)
                if not match:
                    continue
                imports += 1
                imported = match.group(1)
                for rule in rules:
                    if rule.violated_by(importer, imported):
                        violations.append(
                            f"{relative}:{line_number}: {line.strip()!r} in target {importer} breaks "
                            f"'{rule.text}' ({rules_path.relative_to(root)}:{rule.line_number})")
    for violation in violations:
        print(f"check-imports: {violation}", file=sys.stderr)
    if violations:
        print(f"check-imports: {len(violations)} forbidden import(s)", file=sys.stderr)
        return 1
    print(f"check-imports: {imports} imports in {files} files follow {len(rules)} rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
