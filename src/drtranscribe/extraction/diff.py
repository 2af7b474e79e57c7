"""Note versions as JSON Patch (RFC 6902), list items matched by their stable ``id``.

An item that changed gets ``replace`` operations on the fields that changed, so a client
updates it in place; new items are ``add``-ed at their position, vanished ones
``remove``-d, reordered ones ``move``-d. Every operation carries the evidence (segment
ids) of the item it touches. Applying the patch to the old note's JSON gives exactly the
new note's JSON (tests check this with the ``jsonpatch`` library).
"""

from __future__ import annotations

from typing import Any

from drtranscribe.domain.note import ClinicalNote
from drtranscribe.protocol import PatchOperation

Json = dict[str, Any]


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _op(op: str, path: str, evidence: list[str], **kwargs: Any) -> PatchOperation:
    return PatchOperation.model_validate({"op": op, "path": path, "evidence": evidence, **kwargs})


def _evidence(item: Any) -> list[str]:
    if isinstance(item, dict):
        ev = item.get("evidence")
        if isinstance(ev, list):
            return [str(e) for e in ev]
    return []


def _item_ops(path: str, old: Any, new: Any) -> list[PatchOperation]:
    """Field-level replaces for one object, whole-value replace otherwise."""
    if old == new:
        return []
    evidence = _evidence(new) or _evidence(old)
    if isinstance(old, dict) and isinstance(new, dict) and old.keys() == new.keys():
        return [
            _op("replace", f"{path}/{_escape(k)}", evidence, value=new[k])
            for k in new
            if old[k] != new[k]
        ]
    return [_op("replace", path, evidence, value=new)]


def _list_ops(path: str, old: list[Any], new: list[Any]) -> list[PatchOperation]:
    if not all(isinstance(i, dict) and "id" in i for i in [*old, *new]):
        return [] if old == new else [_op("replace", path, [], value=new)]
    new_ids = {i["id"] for i in new}
    ops: list[PatchOperation] = []
    current = list(old)
    for index in range(len(current) - 1, -1, -1):
        if current[index]["id"] not in new_ids:
            ops.append(_op("remove", f"{path}/{index}", _evidence(current[index])))
            del current[index]
    for index, item in enumerate(new):
        ids = [i["id"] for i in current]
        if item["id"] not in ids:
            ops.append(_op("add", f"{path}/{index}", _evidence(item), value=item))
            current.insert(index, item)
            continue
        where = ids.index(item["id"])
        if where != index:
            ops.append(
                _op("move", f"{path}/{index}", _evidence(item), **{"from": f"{path}/{where}"})
            )
            current.insert(index, current.pop(where))
        ops += _item_ops(f"{path}/{index}", current[index], item)
        current[index] = item
    return ops


def note_patch(old: ClinicalNote, new: ClinicalNote) -> list[PatchOperation]:
    old_json: Json = old.model_dump(mode="json")
    new_json: Json = new.model_dump(mode="json")
    ops: list[PatchOperation] = []
    for field, new_value in new_json.items():
        old_value = old_json[field]
        path = f"/{_escape(field)}"
        if old_value == new_value:
            continue
        if isinstance(new_value, list) and isinstance(old_value, list):
            ops += _list_ops(path, old_value, new_value)
        elif old_value is None or new_value is None:
            ev = _evidence(new_value) or _evidence(old_value)
            ops.append(_op("replace", path, ev, value=new_value))
        else:
            ops += _item_ops(path, old_value, new_value)
    return ops
