#!/usr/bin/env bash
# Mutation testing of the contracts and the pipeline's core (`make mutation`).
#
# mutmut (the `mutation` extra) mutates the modules listed in pyproject.toml
# [tool.mutmut] one change at a time and runs the fast in-process unit tests
# against each mutant; a mutant no test fails "survived". It copies the package
# (the compiled engine included, so build it first: `make dev`) into mutants/.
# Prints the score, killed / all mutants, and fails below MUTATION_MIN_SCORE.
#
# Usage: scripts/mutation.sh            (PY=python to pick the interpreter)
#        MUTATION_MIN_SCORE=0 scripts/mutation.sh   (report only)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-python3}"
MIN_SCORE="${MUTATION_MIN_SCORE:-85}"
MAX_CHILDREN="${MUTATION_JOBS:-$("$PY" -c 'import os; print(os.cpu_count() or 1)')}"

if ! "$PY" -c "import mutmut" 2>/dev/null; then
    echo "mutation: mutmut is not installed for $PY (pip install -e '.[test,mutation]')" >&2
    exit 2
fi
if ! compgen -G "src/cinev4/_fasthash*.so" >/dev/null && ! compgen -G "src/cinev4/_fasthash*.pyd" >/dev/null; then
    echo "mutation: no compiled engine in src/cinev4 (build it in place first: make dev)" >&2
    exit 2
fi
rm -rf mutants  # a fresh copy of the sources as they are now
mkdir mutants
"$PY" -m mutmut run --max-children "$MAX_CHILDREN" >mutants/run.log 2>&1 || {
    tail -c 3000 mutants/run.log >&2
    exit 2
}
"$PY" -m mutmut export-cicd-stats >/dev/null
"$PY" -m mutmut results >mutants/survivors.txt 2>/dev/null || true
"$PY" - "$MIN_SCORE" <<'EOF'
import json
import sys

stats = json.load(open("mutants/mutmut-cicd-stats.json"))
total = stats["total"] - stats["skipped"]
killed = stats["killed"] + stats["timeout"]  # a mutant that hangs the tests is caught too
score = 100.0 * killed / total if total else 100.0
print(f"mutation score: {score:.1f}% ({killed} of {total} mutants killed; "
      f"{stats['survived']} survived, {stats['no_tests']} reached by no test, {stats['timeout']} timed out)")
print("survivors: mutants/survivors.txt (see one: python -m mutmut show NAME)")
sys.exit(0 if score >= float(sys.argv[1]) else 1)
EOF
