from core.text import clean_text, field_problem


def test_storable_text_has_no_problem() -> None:
    assert field_problem("title", "3楼打印机坏了 🖨️ printer\ttab\nline") is None


def test_nul_is_named_with_the_field_in_both_languages() -> None:
    problem = field_problem("title", "a\x00b")
    assert problem is not None
    assert (problem.field, problem.rule) == ("title", "text")
    assert problem.text("en") == "contains a NUL character"
    assert "NUL" in problem.text("zh-CN")


def test_an_unpaired_surrogate_is_named_by_its_code_point() -> None:
    problem = field_problem("body", "ok \ud800 then")
    assert problem is not None
    assert problem.text("en") == "contains an unpaired surrogate (U+D800)"


def test_clean_text_replaces_only_what_cannot_be_stored() -> None:
    assert clean_text("a\x00b\udc80c 😀") == "a\ufffdb\ufffdc 😀"
    assert clean_text("plain") == "plain"
