"""The README's reliability tables are the suite's own declarations, never hand-edited numbers."""

from __future__ import annotations

from pathlib import Path

from testkit.scenarios import SCENARIOS, corpus_cases, readme_with_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_the_generated_one() -> None:
    text = README.read_text()
    assert text == readme_with_table(text), "run `.venv/bin/python -m testkit.scenarios` to refresh README.md"


def test_every_declared_scenario_has_a_test_and_the_corpus_is_big_enough() -> None:
    faults = (Path(__file__).parent / "test_faults.py").read_text()
    for name in SCENARIOS:
        assert f'"{name}"' in faults, f"scenario {name} is declared but never run"
    cases = corpus_cases()
    assert len(cases) >= 60 and len({c.kind for c in cases}) >= 12
