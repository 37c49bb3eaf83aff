"""CEB data messages sent as JSON: converted to the CEB XML, then checked exactly like XML.

Platforms may submit a data message as JSON instead of XML, "with the same rules". Nothing here
re-implements those rules: `to_xml` checks only what JSON itself can get wrong (syntax, shape,
field names, value types), writes the CEB XML message with `customs.ceb.writer.write_message`,
and the caller hands that XML to the normal pipeline (size and depth caps, official XSD, field
rules, storage) exactly as if the platform had sent it.

The JSON form of a message (field names are exactly the CEB element names)::

    {
      "messageType": "CEB311Message",
      "guid": "4CDE1CFD-EDED-46B1-946C-B8022E42FC94",
      "baseTransfer": {"copCode": "1101180326", "copName": "物流企业",
                       "dxpId": "EXP2016522002580001"},
      "documents": [
        {
          "head": {"guid": "4CDE1CFD-EDED-46B1-946C-B8022E42FC94", "appType": "1",
                   "orderNo": "order20160321116421002", "goodsValue": "14000.00", ...},
          "lines": [{"gnum": "1", "itemNo": "AF001-001", "qty": "100", "price": "20", ...}]
        }
      ]
    }

- `guid` (the message's) is optional: a fresh upper-case UUID is used when it is left out.
- `baseTransfer` carries `copCode` and `copName`, and optionally `dxpId`; `dxpMode` is always
  DXP. The optional BaseTransfer `note` cannot be carried (the writer has no place for it).
- Every field value is a JSON string, numbers and amounts included ("19050.00", not 19050.00):
  a JSON number is read as a binary float by most clients and can lose cents, so one is refused
  (rule `string-values`) rather than guessed at. `null` is refused too: leave an optional
  field out instead. An empty string is sent as an empty element, as in XML.
- `head` holds the document's fields, also for kinds whose body element holds them directly
  (CEB411/511/513...: `lines` is then left out). For kinds with lines, `lines` is required.
- At most as many documents and lines as the XSD allows (maxOccurs: 100 documents, 99 lines
  per document for the import set); at least one of each.
- No signature can be carried in JSON. The kinds whose XSD requires a ds:Signature
  (CEB621, CEB623, CEB625, CEB711) must be submitted as signed XML; `to_xml` refuses them
  (rule `signature-required`). The others are accepted unsigned, as their XML form is.

Errors name their place as a JSON pointer (`/documents/0/lines/2/qty`). `in_json_terms`
rewrites the XML paths of later refusals (XSD, field rules) to those pointers, since the XML
the platform never saw is not something it can look up.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from lxml import etree

from customs.ceb.documents import KINDS, DocumentKind
from customs.ceb.parsing import MAX_BODY_BYTES, MAX_DEPTH
from customs.ceb.writer import Sender, field_order, write_message
from customs.domain.errors import (
    FieldError,
    MessageFormatError,
    MessageTooLarge,
    UnsupportedMessage,
)
from customs.domain.personal import shown

MEDIA_TYPE = "application/json"
MAX_ERRORS = 100  # enough to fix a message by; the API shows the first 50

_XS = "{http://www.w3.org/2001/XMLSchema}"
_TOP_FIELDS = ("messageType", "guid", "baseTransfer", "documents")
_TRANSFER_FIELDS = ("copCode", "copName", "dxpId")
_TRANSFER_REQUIRED = ("copCode", "copName")
_TRANSFER_NOT_CARRIED = {
    "dxpMode": "dxpMode is always DXP and is written by the platform",
    "note": "the BaseTransfer note cannot be carried in JSON",
}
# Characters XML 1.0 cannot carry at all (JSON can, escaped: "\u0000", lone surrogates).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_STEP = re.compile(r"^(?:[A-Za-z]\w*:)?([A-Za-z]\w*)(?:\[(\d+)\])?$")


# --- what the XSD says ----------------------------------------------------------------------------


@cache
def _declarations(direction: str) -> dict[str, etree._Element]:
    """The global element declarations of import.xsd / export.xsd (as writer.field_order reads)."""
    path = resources.files("customs.ceb") / "xsd" / f"{direction}.xsd"
    schema = etree.fromstring(path.read_bytes())
    return {e.get("name", ""): e for e in schema.iterfind(f"{_XS}element")}


def _children(declaration: etree._Element) -> list[etree._Element]:
    return list(declaration.iterfind(f"{_XS}complexType/{_XS}sequence/{_XS}element"))


def _child_name(child: etree._Element) -> str:
    return child.get("name") or child.get("ref", "").rpartition(":")[2]


def _max(child: etree._Element) -> int | None:
    """maxOccurs as a number, None when unbounded."""
    value = child.get("maxOccurs", "1")
    return None if value == "unbounded" else int(value)


@cache
def required_fields(direction: str, element: str) -> frozenset[str]:
    """The fields of an XSD entity (OrderHead...) that must be present: minOccurs is not 0."""
    return frozenset(
        child.get("name", "")
        for child in _children(_declarations(direction)[element])
        if child.get("minOccurs", "1") != "0"
    )


@cache
def _descriptions(direction: str, element: str) -> dict[str, str]:
    found = {}
    for child in _children(_declarations(direction)[element]):
        text = " ".join(child.findtext(f"{_XS}annotation/{_XS}documentation", "").split())
        if text:
            found[child.get("name", "")] = text
    return found


@dataclass(frozen=True, slots=True)
class _Limits:
    max_documents: int | None
    min_lines: int
    max_lines: int | None


@cache
def _limits(message_type: str) -> _Limits:
    """How many documents a message, and lines a document, may hold (the XSD's occurrences)."""
    kind = KINDS[message_type]
    declarations = _declarations(kind.direction)
    body = next(c for c in _children(declarations[message_type]) if _child_name(c) == kind.body)
    if kind.lines is None:
        return _Limits(max_documents=_max(body), min_lines=0, max_lines=0)
    inner = _children(body) if body.get("name") else _children(declarations[kind.body])
    line = next(c for c in inner if _child_name(c) == kind.lines)
    return _Limits(
        max_documents=_max(body), min_lines=int(line.get("minOccurs", "1")), max_lines=_max(line)
    )


@cache
def signature_required(message_type: str) -> bool:
    """Whether the XSD makes a ds:Signature mandatory: such messages can only be sent as XML."""
    kind = KINDS[message_type]
    return any(
        child.get("ref") == "ds:Signature" and child.get("minOccurs", "1") != "0"
        for child in _children(_declarations(kind.direction)[message_type])
    )


@cache
def json_message_types() -> tuple[str, ...]:
    """The message types that may be submitted as JSON (those needing no signature)."""
    return tuple(sorted(t for t in KINDS if not signature_required(t)))


def _entities(kind: DocumentKind) -> tuple[str, str | None]:
    """The XSD entities holding a document's head fields and line fields."""
    return kind.head or kind.body, kind.lines


# --- JSON -> XML ----------------------------------------------------------------------------------


class _Number(str):
    """A JSON number, kept as its literal so that it can be refused by name, never as a float."""


class _Object(dict[str, Any]):
    """A JSON object that remembers the keys it was given more than once."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        duplicates: list[str] = []
        for key, _value in pairs:
            if key in seen:
                duplicates.append(key)
            seen.add(key)
        obj.duplicates = tuple(duplicates)
    return obj


def _pointer(*steps: str | int) -> str:
    """A JSON pointer (RFC 6901): `/documents/0/head/orderNo`."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in steps) or "/"


def _format_error(rule: str, path: str, message: str, *, line: int | None = None) -> FieldError:
    return FieldError(path=path, rule=rule, message=message, line=line)


def _not_json(message: str, line: int | None = None, *, rule: str = "json") -> MessageFormatError:
    return MessageFormatError(
        code="0001",
        title="Message is not well-formed JSON",
        errors=(_format_error(rule, "/", message, line=line),),
    )


def _parse(payload: bytes) -> Any:
    """Strict JSON: UTF-8, no duplicate keys, no NaN/Infinity, numbers kept as their literal."""
    if len(payload) > MAX_BODY_BYTES:
        raise MessageTooLarge(
            code="0001",
            title="Message body too large",
            errors=(
                _format_error(
                    "max-body-size",
                    "/",
                    f"body is {len(payload)} bytes; at most {MAX_BODY_BYTES} are accepted",
                ),
            ),
        )
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = payload.count(b"\n", 0, exc.start) + 1
        column = exc.start - (payload.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _not_json(
            f"line {line} column {column}: the body is not UTF-8 ({exc.reason})",
            line,
            rule="utf-8",
        ) from None
    text = text.removeprefix("\ufeff")  # a byte order mark is tolerated (RFC 8259 §8.1)
    try:
        return json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_Number,
            parse_float=_Number,
            parse_constant=_Number,
        )
    except json.JSONDecodeError as exc:
        raise _not_json(f"line {exc.lineno} column {exc.colno}: {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise MessageFormatError(
            code="0001",
            title="Message nests too deeply",
            errors=(_format_error("max-depth", "/", f"at most {MAX_DEPTH} levels are allowed"),),
        ) from None


def _strictness_errors(value: Any) -> Iterator[FieldError]:
    """Duplicate keys and over-deep nesting anywhere in the parsed value."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, steps = stack.pop()
        if len(steps) >= MAX_DEPTH:
            yield _format_error(
                "max-depth", _pointer(*steps), f"at most {MAX_DEPTH} levels are allowed"
            )
            continue
        if isinstance(node, _Object):
            for key in dict.fromkeys(node.duplicates):
                yield _format_error(
                    "duplicate-key",
                    _pointer(*steps, key),
                    f"{key!r} is given more than once in this object; send each field once",
                )
            stack.extend((v, (*steps, k)) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, (*steps, i)) for i, v in reversed(list(enumerate(node))))


def _type_name(value: Any) -> str:
    if isinstance(value, _Number):
        return "a number"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return "an object" if isinstance(value, dict) else "an array"


def _suggestion(name: str, known: Sequence[str]) -> str:
    by_case = [k for k in known if k.lower() == name.lower()]
    close = by_case or difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class _Shape:
    """Collects the shape errors of one JSON message (up to MAX_ERRORS)."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, rule: str, steps: Sequence[str | int], message: str, value: str | None) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(
                FieldError(path=_pointer(*steps), rule=rule, message=message, value=value)
            )

    def object(self, value: Any, steps: Sequence[str | int], what: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.add("object", steps, f"{what} must be a JSON object, not {_type_name(value)}", None)
        return None

    def array(self, value: Any, steps: Sequence[str | int], what: str) -> list[Any] | None:
        if isinstance(value, list):
            return value
        self.add("array", steps, f"{what} must be a JSON array, not {_type_name(value)}", None)
        return None

    def string(self, value: Any, steps: Sequence[str | int], field: str) -> str | None:
        """A field value: a string holding only characters XML can carry."""
        if isinstance(value, _Number):
            self.add(
                "string-values",
                steps,
                f"{field} is a JSON number ({value}); send every value as a JSON string, "
                f'e.g. "{value}", so that decimals stay exact',
                shown(field, value[:200]),
            )
            return None
        if not isinstance(value, str):
            hint = "; leave an optional field out instead" if value is None else ""
            self.add(
                "string-values",
                steps,
                f"{field} must be a JSON string, not {_type_name(value)}{hint}",
                None,
            )
            return None
        bad = _NOT_XML.search(value)
        if bad:
            self.add(
                "xml-characters",
                steps,
                f"{field} holds U+{ord(bad.group()):04X} at position {bad.start()}, "
                "a character CEB messages (XML 1.0) cannot carry",
                None,
            )
            return None
        return value

    def fields(
        self,
        value: Any,
        steps: Sequence[str | int],
        *,
        entity: str,
        known: Sequence[str],
        required: frozenset[str] | Sequence[str],
        not_carried: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """An object of string fields named as `known`, with every `required` one present."""
        obj = self.object(value, steps, entity)
        if obj is None:
            return {}
        found: dict[str, str] = {}
        for name, item in obj.items():
            if name not in known:
                why = (not_carried or {}).get(name)
                self.add(
                    "unknown-field",
                    (*steps, name),
                    f"{entity} has no field {name!r}"
                    + (f"; {why}" if why else _suggestion(name, known)),
                    name[:100],
                )
                continue
            text = self.string(item, (*steps, name), name)
            if text is not None:
                found[name] = text
        for name in known:
            if name in required and name not in obj:
                self.add("required", (*steps, name), f"{entity} must have {name}", None)
        return found


def _accepted_types_refusal(message_type: str, steps: Sequence[str]) -> UnsupportedMessage:
    xml_only = [t for t in sorted(KINDS) if signature_required(t)]
    return UnsupportedMessage(
        code="0999",
        title="Message type not accepted",
        errors=(
            FieldError(
                path=_pointer(*steps),
                rule="accepted-message-types",
                message=f"{message_type!r} is not a message enterprises send to customs; "
                f"accepted: {', '.join(sorted(KINDS))} "
                f"({', '.join(xml_only)} only as signed XML)",
                value=message_type[:100],
            ),
        ),
    )


def _signature_refusal(message_type: str) -> UnsupportedMessage:
    return UnsupportedMessage(
        code="0999",
        title="Message must be sent as signed XML",
        errors=(
            FieldError(
                path="/messageType",
                rule="signature-required",
                message=f"the XSD requires a ds:Signature in {message_type}, and JSON cannot "
                f"carry one: send it as signed XML (Content-Type: application/xml)",
                value=message_type,
            ),
        ),
    )


def _shape_refusal(errors: Sequence[FieldError]) -> MessageFormatError:
    return MessageFormatError(
        code="0002", title="JSON message does not fit the CEB message", errors=tuple(errors)
    )


def _message_type(top: dict[str, Any], *, unsigned: bool = False) -> str:
    """The message type, refused at once when missing, unknown or needing a signature (unless
    the unsigned XML is wanted, to be signed or only checked)."""
    shape = _Shape()
    if "messageType" not in top:
        shape.add("required", ["messageType"], "the message must name its messageType", None)
        raise _shape_refusal(shape.errors)
    message_type = shape.string(top["messageType"], ["messageType"], "messageType")
    if message_type is None:
        raise _shape_refusal(shape.errors)
    if message_type not in KINDS:
        raise _accepted_types_refusal(message_type, ["messageType"])
    if signature_required(message_type) and not unsigned:
        raise _signature_refusal(message_type)
    return message_type


def _count(
    shape: _Shape,
    items: list[Any],
    steps: Sequence[str | int],
    what: str,
    *,
    least: int,
    most: int | None,
) -> bool:
    """Whether the number of items fits the XSD's occurrences (reported when not)."""
    if len(items) < least:
        shape.add("min-items", steps, f"at least {least} {what} required", None)
        return False
    if most is not None and len(items) > most:
        shape.add(
            "max-items",
            steps,
            f"{len(items)} {what} sent; at most {most} are allowed in one message",
            str(len(items)),
        )
        return False
    return True


def to_xml(payload: bytes, *, unsigned: bool = False) -> bytes:
    """The unsigned CEB XML message a JSON message stands for; it still has to pass the pipeline.

    Raises MessageFormatError (0001 not JSON, 0002 does not fit the CEB message) or
    UnsupportedMessage (0999: unknown message type, or one that must be signed XML, unless
    `unsigned`: the XML is then wanted to be signed, or only checked, by the caller).
    """
    value = _parse(payload)
    strictness = list(_strictness_errors(value))
    if strictness:
        raise MessageFormatError(
            code="0001",
            title="Message is not strict JSON",
            errors=tuple(strictness[:MAX_ERRORS]),
        )
    shape = _Shape()
    top = shape.object(value, [], "the message")
    if top is None:
        raise _shape_refusal(shape.errors)
    message_type = _message_type(top, unsigned=unsigned)
    kind = KINDS[message_type]
    limits = _limits(message_type)
    for name in top:
        if name not in _TOP_FIELDS:
            shape.add(
                "unknown-field",
                [name],
                f"a JSON message has no field {name!r}{_suggestion(name, _TOP_FIELDS)}",
                name[:100],
            )
    guid = shape.string(top["guid"], ["guid"], "guid") if "guid" in top else None
    transfer: dict[str, str] = {}
    if "baseTransfer" not in top:
        shape.add("required", ["baseTransfer"], "the message must have a baseTransfer", None)
    else:
        transfer = shape.fields(
            top["baseTransfer"],
            ["baseTransfer"],
            entity="baseTransfer",
            known=_TRANSFER_FIELDS,
            required=_TRANSFER_REQUIRED,
            not_carried=_TRANSFER_NOT_CARRIED,
        )
    documents: list[tuple[dict[str, str], list[dict[str, str]]]] = []
    if "documents" not in top:
        shape.add("required", ["documents"], "the message must have documents", None)
    else:
        items = shape.array(top["documents"], ["documents"], "documents")
        if items is not None and _count(
            shape, items, ["documents"], "documents", least=1, most=limits.max_documents
        ):
            documents = [_document(shape, kind, limits, item, i) for i, item in enumerate(items)]
    if shape.errors:
        raise _shape_refusal(shape.errors)
    sender = Sender(cop_code=transfer["copCode"], cop_name=transfer["copName"])
    if "dxpId" in transfer:
        sender = Sender(sender.cop_code, sender.cop_name, dxp_id=transfer["dxpId"])
    xml = write_message(message_type, documents, sender, guid=guid)
    if len(xml) > MAX_BODY_BYTES:
        raise MessageTooLarge(
            code="0001",
            title="Message body too large",
            errors=(
                _format_error(
                    "max-body-size",
                    "/",
                    f"as XML this message is {len(xml)} bytes; at most {MAX_BODY_BYTES} are "
                    "accepted: send fewer documents per message",
                ),
            ),
        )
    return xml


def _document(
    shape: _Shape, kind: DocumentKind, limits: _Limits, value: Any, index: int
) -> tuple[dict[str, str], list[dict[str, str]]]:
    steps: list[str | int] = ["documents", index]
    doc = shape.object(value, steps, "a document")
    if doc is None:
        return {}, []
    head_entity, line_entity = _entities(kind)
    for name in doc:
        if name == "head" or (name == "lines" and line_entity is not None):
            continue
        known = ("head", "lines") if line_entity is not None else ("head",)
        why = (
            f"; {kind.message_type} documents have no lines"
            if name == "lines"
            else _suggestion(name, known)
        )
        shape.add(
            "unknown-field", [*steps, name], f"a document has no field {name!r}{why}", name[:100]
        )
    head: dict[str, str] = {}
    if "head" not in doc:
        shape.add("required", [*steps, "head"], "a document must have a head", None)
    else:
        head = shape.fields(
            doc["head"],
            [*steps, "head"],
            entity=head_entity,
            known=field_order(kind.direction, head_entity),
            required=required_fields(kind.direction, head_entity),
        )
    lines: list[dict[str, str]] = []
    if line_entity is None:
        return head, lines
    if "lines" not in doc:
        shape.add("required", [*steps, "lines"], f"{kind.message_type} documents have lines", None)
        return head, lines
    items = shape.array(doc["lines"], [*steps, "lines"], "lines")
    if items is None or not _count(
        shape, items, [*steps, "lines"], "lines", least=limits.min_lines, most=limits.max_lines
    ):
        return head, lines
    for number, item in enumerate(items):
        lines.append(
            shape.fields(
                item,
                [*steps, "lines", number],
                entity=line_entity,
                known=field_order(kind.direction, line_entity),
                required=required_fields(kind.direction, line_entity),
            )
        )
    return head, lines


# --- XML -> JSON ----------------------------------------------------------------------------------


def _ordered(direction: str, entity: str, values: Mapping[str, str]) -> dict[str, str]:
    order = field_order(direction, entity)
    ordered = {name: values[name] for name in order if name in values}
    ordered.update((k, v) for k, v in values.items() if k not in ordered)
    return ordered


def from_xml_document(
    kind: DocumentKind | str, head: Mapping[str, str], lines: Sequence[Mapping[str, str]] = ()
) -> dict[str, Any]:
    """One document in its JSON form, `{"head": {...}, "lines": [...]}`, in XSD field order.

    `lines` is left out for kinds without lines. Values are shown as given: mask personal data
    (customs.domain.personal.shown) before showing a document to anyone but its sender.
    """
    if isinstance(kind, str):
        kind = KINDS[kind]
    head_entity, line_entity = _entities(kind)
    document: dict[str, Any] = {"head": _ordered(kind.direction, head_entity, head)}
    if line_entity is not None:
        document["lines"] = [_ordered(kind.direction, line_entity, line) for line in lines]
    return document


def json_pointer(xml_path: str) -> str | None:
    """The JSON pointer of an XML path from the XSD or the field rules, None if it has none.

    `/ceb:CEB311Message/ceb:Order[2]/ceb:OrderList[3]/ceb:qty` -> `/documents/1/lines/2/qty`.
    """
    steps: list[tuple[str, int]] = []
    for step in xml_path.strip("/").split("/"):
        match = _XML_STEP.match(step)
        if match is None:
            return None
        steps.append((match.group(1), int(match.group(2) or 1)))
    if not steps or steps[0][0] not in KINDS:
        return None
    kind = KINDS[steps[0][0]]
    rest = steps[1:]
    if not rest:
        return "/"
    (name, number), rest = rest[0], rest[1:]
    out: list[str | int]
    if name == "BaseTransfer":
        out = ["baseTransfer"]
    elif name == kind.body:
        out = ["documents", number - 1]
        if kind.head is None:
            out.append("head")
        elif rest and rest[0][0] == kind.head:
            out.append("head")
            rest = rest[1:]
        elif rest and rest[0][0] == kind.lines:
            out += ["lines", rest[0][1] - 1]
            rest = rest[1:]
    else:
        return None
    if len(rest) > 1:
        return None
    return _pointer(*out, *(step for step, _ in rest))


def _json_path(error: FieldError) -> str:
    pointer = json_pointer(error.path)
    if pointer is None:
        return error.path
    if pointer == "/" and "attribute 'guid'" in error.message:
        return "/guid"
    return pointer


def in_json_terms(exc: MessageFormatError) -> MessageFormatError:
    """A refusal of the XML made from JSON, with paths as JSON pointers and no XML line numbers.

    Subclasses other than the ones raised for format errors are returned unchanged.
    """
    if type(exc) not in (MessageFormatError, UnsupportedMessage, MessageTooLarge):
        return exc
    errors = tuple(
        FieldError(
            path=_json_path(error),
            rule=error.rule,
            message=error.message.replace("{http://www.chinaport.gov.cn/ceb}", ""),
            line=None,
            value=error.value,
        )
        for error in exc.errors
    )
    return type(exc)(code=exc.code, title=exc.title, errors=errors)


# --- JSON Schema ----------------------------------------------------------------------------------


def _entity_schema(direction: str, entity: str, title: str) -> dict[str, Any]:
    descriptions = _descriptions(direction, entity)
    required = required_fields(direction, entity)
    properties: dict[str, Any] = {}
    for name in field_order(direction, entity):
        properties[name] = {"type": "string"}
        if name in descriptions:
            properties[name]["description"] = descriptions[name]
    return {
        "title": title,
        "type": "object",
        "additionalProperties": False,
        "required": [name for name in field_order(direction, entity) if name in required],
        "properties": properties,
    }


def _items(items: dict[str, Any], least: int, most: int | None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "minItems": least, "items": items}
    if most is not None:
        schema["maxItems"] = most
    return schema


def json_schema(message_type: str) -> dict[str, Any]:
    """The JSON Schema (2020-12, as OpenAPI 3.1 uses) of a message type's JSON form.

    Generated from the XSD: every field a string, `required` where the XSD's minOccurs is not 0.
    Raises KeyError for an unknown type, ValueError for one that must be sent as signed XML.
    """
    kind = KINDS[message_type]
    if signature_required(message_type):
        raise ValueError(f"{message_type} must be sent as signed XML; it has no JSON form")
    limits = _limits(message_type)
    head_entity, line_entity = _entities(kind)
    document: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["head"],
        "properties": {"head": _entity_schema(kind.direction, head_entity, head_entity)},
    }
    if line_entity is not None:
        document["required"].append("lines")
        document["properties"]["lines"] = _items(
            _entity_schema(kind.direction, line_entity, line_entity),
            limits.min_lines,
            limits.max_lines,
        )
    transfer = _entity_schema(kind.direction, "BaseTransfer", "baseTransfer")
    transfer["properties"] = {k: transfer["properties"][k] for k in _TRANSFER_FIELDS}
    transfer["required"] = list(_TRANSFER_REQUIRED)
    return {
        "title": f"{message_type} ({kind.label}) as JSON",
        "type": "object",
        "additionalProperties": False,
        "required": ["messageType", "baseTransfer", "documents"],
        "properties": {
            "messageType": {"type": "string", "const": message_type},
            "guid": {
                "type": "string",
                "description": "the message's 36-character upper-case guid; generated if absent",
            },
            "baseTransfer": transfer,
            "documents": _items(document, 1, limits.max_documents),
        },
    }
