#!/usr/bin/python3
"""Reads the JUnit file back with a real consumer (Debian's python3-junitparser)
and checks that it says what the comparison document says: one testcase per
cell of the current night, a regression as a failure carrying both rates,
intervals and p-values, an infrastructure error as an error, an inconclusive
cell as skipped. Usage: junit_readback_test.py JUNIT_XML COMPARE_JSON"""
import json
import sys

from junitparser import Error, Failure, JUnitXml, Skipped

EXPECTED = {
    "regression": Failure,
    "infrastructure error": Error,
    "inconclusive": Skipped,
    "missing": Skipped,
}


def main(junit_path, compare_path):
    xml = JUnitXml.fromfile(junit_path)
    with open(compare_path, encoding="utf-8") as f:
        cmp = json.load(f)
    cells = {c["cell"]: c for c in cmp["cells"]}
    suites = list(xml)
    assert len(suites) == 1, f"one testsuite expected, got {len(suites)}"
    suite = suites[0]
    seen = set()
    for case in suite:
        assert case.name in cells, f"testcase {case.name!r} is not a cell of the comparison"
        seen.add(case.name)
        cell = cells[case.name]
        results = case.result if isinstance(case.result, list) else [case.result] if case.result else []
        want = EXPECTED.get(cell["verdict"])
        if cell["verdict"] == "missing" and cell["current"] is not None:
            want = None  # new in this night: stands alone and passes
        got = [type(r) for r in results]
        assert got == ([want] if want else []), f"{case.name}: {cell['verdict']} reported as {got}"
        if want is Failure:
            msg = results[0].message
            cur, base = cell["current"], cell["baseline"]
            for needle in (f"{cur['failures']}/{cur['trials']} trials failed",
                           f"{base['failures']}/{base['trials']} trials failed",
                           "Holm-adjusted p = ", "racing-s"):
                assert needle in msg, f"{case.name}: failure message lacks {needle!r}: {msg}"
            assert results[0].type == "regression"
        if want is Error:
            assert cell["reason"] in results[0].message, f"{case.name}: error message lacks the reason"
    expected_cases = {n for n, c in cells.items() if c["current"] is not None or c["verdict"] == "missing"}
    assert seen == expected_cases, f"testcases {sorted(seen)} != cells {sorted(expected_cases)}"
    counts = cmp["counts"]
    assert suite.tests == len(seen), (suite.tests, len(seen))
    assert suite.failures == counts["regression"], (suite.failures, counts)
    assert suite.errors == counts["infrastructure_error"], (suite.errors, counts)
    new_cells = sum(1 for c in cmp["cells"] if c["verdict"] == "missing" and c["current"] is not None)
    assert suite.skipped == counts["inconclusive"] + counts["missing"] - new_cells, (suite.skipped, counts)
    print(f"junitparser read {suite.tests} testcases: {suite.failures} failure(s), {suite.errors} error(s), "
          f"{suite.skipped} skipped -- as in {compare_path}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
