#!/usr/bin/python3
"""Runs the ```sh snippets of README.md as a reader would, and checks the ```cmake one.

    run_sh_snippets.py README.md SOURCE_DIR BUILD_DIR LIBTORCH_VERSION

On LibTorch 1.x the test skips (exit 77): the README's examples export models with the
project's torch 2.13 (.venv/), whose TorchScript files LibTorch 1.13 cannot load.

- The quick-start block (scripts/demo.sh, scripts/test.sh) is what CI runs (.ci/run calls
  both): here the two scripts must exist and be executable, and .ci/run must call them.
- Every other ```sh block runs with bash -e, in order, in one fresh directory that looks
  like the repository root to it: build/ (this build), .venv/, scripts/ and test/ are
  links into the real tree. A block fails the test when it exits non-zero.
- A ```cmake block must be what test/consumer/CMakeLists.txt (built by the package
  test) does: each of its lines appears there.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile


def blocks(text, language):
    return re.findall(r"^```" + language + r"\n(.*?)^```$", text, flags=re.S | re.M)


def main(argv):
    readme, source, build = argv[1], argv[2], argv[3]
    if len(argv) > 4 and argv[4].startswith("1."):
        print(f"skipped on LibTorch {argv[4]}: the README's examples make TorchScript files with torch 2.13")
        return 77
    text = open(readme, encoding="utf-8").read()
    failures = []
    sh_blocks = blocks(text, "sh")
    if not sh_blocks:
        failures.append("README.md has no ```sh block")
    work = tempfile.mkdtemp(prefix="attnhook_readme_")
    try:
        for name, target in (("build", build), (".venv", os.path.join(source, ".venv")),
                             ("scripts", os.path.join(source, "scripts")), ("test", os.path.join(source, "test"))):
            os.symlink(target, os.path.join(work, name))
        ci = open(os.path.join(source, ".ci", "run"), encoding="utf-8").read()
        for n, code in enumerate(sh_blocks, start=1):
            if "scripts/demo.sh" in code and "scripts/test.sh" in code:
                for script in ("scripts/demo.sh", "scripts/test.sh"):
                    path = os.path.join(source, script)
                    if not os.access(path, os.X_OK):
                        failures.append(f"sh block {n}: {script} is missing or not executable")
                    if script not in ci:
                        failures.append(f"sh block {n}: .ci/run does not run {script}")
                continue
            print(f"--- sh block {n}:\n{code}", flush=True)
            result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], cwd=work,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=500)
            print(result.stdout, flush=True)
            if result.returncode != 0:
                failures.append(f"sh block {n} exited {result.returncode}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    consumer = open(os.path.join(source, "test", "consumer", "CMakeLists.txt"), encoding="utf-8").read()
    for n, code in enumerate(blocks(text, "cmake"), start=1):
        for line in code.splitlines():
            statement = line.split("#")[0].strip()
            if statement and statement not in consumer:
                failures.append(f"cmake block {n}: '{statement}' is not in test/consumer/CMakeLists.txt")
    for failure in failures:
        print("FAILED:", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
