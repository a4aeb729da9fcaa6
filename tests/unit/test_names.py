import json
import os

from grader.names import display_name, folder_name
from grader.result import strict, write_json_atomic

CP949 = os.fsdecode("숙제_김철수.ipynb".encode("cp949"))  # as Windows zip tools write it
UNDECODABLE = os.fsdecode(b"\xff\xfe\x80.ipynb")


def test_cp949_names_read_as_korean():
    assert display_name(CP949) == "숙제_김철수.ipynb"
    assert display_name("숙제_홍길동.ipynb") == "숙제_홍길동.ipynb"


def test_undecodable_bytes_become_replacement_characters():
    assert display_name(UNDECODABLE) == "\ufffd\ufffd\ufffd.ipynb"


def test_folder_names_are_safe_and_distinct():
    names = [CP949, UNDECODABLE, "a b'\"<>&|?*.ipynb", "-rf.ipynb", ".hidden.ipynb",
             "x" * 300 + ".ipynb", "01_homework.ipynb", "..", "a/b"]  # fmt: skip
    folders = [folder_name(n) for n in names]
    assert folder_name("01_homework.ipynb") == "01_homework.ipynb"
    assert len(set(folders)) == len(folders)
    for folder in folders:
        assert folder and "/" not in folder and not folder.startswith((".", "-"))
        assert len(folder.encode("utf-8")) <= 130
        folder.encode("utf-8")  # no lone surrogates


def test_results_are_strict_json(tmp_path):
    document = {
        "beta": [float("nan"), 1.0],
        "loss": [float("inf"), -float("inf"), 2.0],
        UNDECODABLE: CP949,
    }
    path = tmp_path / "results.json"
    write_json_atomic(path, document)
    text = path.read_text("utf-8")
    loaded = json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    assert loaded["beta"] == [None, 1.0] and loaded["loss"] == [None, None, 2.0]
    assert strict({"a": (1, 2)}) == {"a": [1, 2]}
