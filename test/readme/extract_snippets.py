#!/usr/bin/python3
"""Writes each ```cpp block of README.md to <outdir>/snippet_<n>.cpp (only when its text
changed, so builds stay incremental) and prints one line per block: "<n>|<args>", where
<args> comes from a `// args: ...` line in the block (its command-line arguments).

    extract_snippets.py README.md OUTDIR
"""
import os
import re
import sys


def blocks(text: str, language: str):
    return re.findall(r"^```" + language + r"\n(.*?)^```$", text, flags=re.S | re.M)


def main(argv):
    readme, outdir = argv[1], argv[2]
    os.makedirs(outdir, exist_ok=True)
    text = open(readme, encoding="utf-8").read()
    for n, code in enumerate(blocks(text, "cpp"), start=1):
        path = os.path.join(outdir, f"snippet_{n}.cpp")
        content = f"// Generated from README.md's C++ snippet {n}; do not edit.\n{code}"
        if not os.path.exists(path) or open(path, encoding="utf-8").read() != content:
            with open(path, "w", encoding="utf-8") as out:
                out.write(content)
        args = re.search(r"^// args: (.*)$", code, flags=re.M)
        print(f"{n}|{args.group(1) if args else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
