"""python -m host_tools.bench writes bench/results.md; --only refreshes its
own sections and leaves the others as they were."""

import types

from host_tools.bench import __main__ as bench


def fake_section(title, body):
    return types.SimpleNamespace(SECTION=title, run=lambda options: body)


def test_only_replaces_its_own_section_and_keeps_the_others(tmp_path, monkeypatch):
    monkeypatch.setattr(
        bench,
        "SECTIONS",
        {
            "first": fake_section("First", "first figures, run 1"),
            "second": fake_section("Second", "second figures, run 1"),
            "third": fake_section("Third", "third figures, run 1"),
        },
    )
    output = tmp_path / "results.md"
    assert bench.main(["--output", str(output)]) == 0
    before = output.read_text()
    bench.SECTIONS["second"] = fake_section("Second", "second figures, run 2")
    bench.SECTIONS["first"] = fake_section("First", "first figures, run 2")
    assert bench.main(["--only", "second", "--output", str(output)]) == 0
    after = output.read_text()
    assert "second figures, run 2" in after and "second figures, run 1" not in after
    # The others, byte for byte, in their places.
    first = before[before.index("## First") : before.index("## Second")]
    third = before[before.index("## Third") :]
    assert after.index("## First") < after.index("## Second") < after.index("## Third")
    assert after[after.index("## First") : after.index("## Second")] == first
    assert after[after.index("## Third") :] == third


def test_only_adds_a_section_the_file_does_not_have_yet(tmp_path, monkeypatch):
    monkeypatch.setattr(
        bench,
        "SECTIONS",
        {"first": fake_section("First", "one"), "second": fake_section("Second", "two")},
    )
    output = tmp_path / "results.md"
    assert bench.main(["--only", "second", "--output", str(output)]) == 0
    assert bench.main(["--only", "first", "--output", str(output)]) == 0
    text = output.read_text()
    assert text.index("## First") < text.index("## Second")
    assert "one" in text and "two" in text


def failing_section(title):
    def run(options):
        raise RuntimeError("baresip did not start")

    return types.SimpleNamespace(SECTION=title, run=run)


def test_a_failing_section_keeps_its_earlier_figures_and_the_others_are_written(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(
        bench,
        "SECTIONS",
        {
            "first": fake_section("First", "first, run 1"),
            "second": fake_section("Second", "second, run 1"),
        },
    )
    output = tmp_path / "results.md"
    assert bench.main(["--output", str(output)]) == 0
    bench.SECTIONS["first"] = failing_section("First")
    bench.SECTIONS["second"] = fake_section("Second", "second, run 2")
    assert bench.main(["--output", str(output)]) == 1
    text = output.read_text()
    assert "first, run 1" in text  # what the failed section had, kept
    assert "second, run 2" in text and "second, run 1" not in text
