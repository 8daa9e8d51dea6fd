"""Shape files and --box text: seganypet layout, one bare shape, autoPET V scribbles (both
forms), and one clear error for each malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seganypet.errors import InputError
from seganypet.shape_files import parse_box, read_shape_file


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "shapes.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_seganypet_layout_keeps_boxes_first(tmp_path: Path) -> None:
    path = write(tmp_path, {
        "scribbles": [{"points": [[1, 2, 3], [4, 5, 3]], "positive": False}],
        "boxes": [{"lo": [0, 0, 0], "hi": [5, 5, 5]}],
        "lassos": [{"points": [[1, 1, 2], [5, 1, 2], [5, 5, 2]], "space": "world"}],
    })
    shapes = read_shape_file(path, "scribble")
    assert [s.kind for s in shapes] == ["box", "scribble", "lasso"]
    assert [s.positive for s in shapes] == [True, False, True]
    assert shapes[2].world and not shapes[0].world


def test_bare_list_is_one_shape_of_the_options_kind(tmp_path: Path) -> None:
    (lasso,) = read_shape_file(write(tmp_path, [[1, 2, 3], [4, 2, 3], [4, 6, 3]]), "lasso")
    assert lasso.kind == "lasso" and lasso.positive
    (stroke,) = read_shape_file(write(tmp_path, {"points": [[1, 2, 3]], "positive": False}),
                                "scribble")
    assert stroke.kind == "scribble" and not stroke.positive


def test_autopet_v_voxels_group_into_strokes(tmp_path: Path) -> None:
    data = {"tumor": [[5, 5, 3], [6, 5, 3], [7, 6, 3], [20, 20, 3], [21, 21, 3]],
            "background": [[1, 1, 1]]}
    shapes = read_shape_file(write(tmp_path, data), "scribble")
    assert [(s.positive, len(s.points)) for s in shapes] == [(True, 3), (True, 2), (False, 1)]
    assert not any(s.joined for s in shapes)
    gc = {"version": {"major": 1, "minor": 0}, "type": "Multiple points",
          "points": [{"point": [5, 5, 3], "name": "tumor"}, {"point": [6, 6, 3], "name": "tumor"},
                     {"point": [9, 9, 3], "name": "background"}]}
    shapes = read_shape_file(write(tmp_path, gc), "scribble")
    assert [(s.positive, len(s.points)) for s in shapes] == [(True, 2), (False, 1)]


def test_parse_box() -> None:
    assert parse_box("1,2,3,4,5,6").points == ((1, 2, 3), (4, 5, 6))
    with pytest.raises(InputError, match="six numbers"):
        parse_box("1,2,3,4,5")
    with pytest.raises(InputError, match="above hi"):
        parse_box("5,2,3,4,5,6")


@pytest.mark.parametrize(("data", "kind", "message"), [
    ({"scribbles": [{"points": [[1, 2, True]]}]}, "scribble", "three finite numbers"),
    ({"scribbles": [{"points": [], "positve": False}]}, "scribble", "unknown key"),
    ({"scribbles": [{"points": []}]}, "scribble", "empty"),
    ({"lassos": [{"points": [[0, 0, 0], [1, 1, 1], [2, 3, 4]]}]}, "lasso", "one slice"),
    ({"boxes": [{"lo": [1, 1, 1]}]}, "scribble", "'lo' and 'hi'"),
    ({"tumor": [[1, 1, 1]]}, "lasso", "expected"),
    ({"type": "Multiple points", "points": [{"point": [1, 1, 1], "name": "lesion"}]},
     "scribble", "'tumor' or 'background'"),
    ("just text", "scribble", "expected a JSON object"),
    ({"scribbles": []}, "scribble", "no shape"),
])
def test_malformed_files(tmp_path: Path, data, kind, message) -> None:
    with pytest.raises(InputError, match=message):
        read_shape_file(write(tmp_path, data), kind)


def test_missing_and_invalid_json(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_shape_file(tmp_path / "absent.json", "scribble")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        read_shape_file(bad, "scribble")
