"""The pydantic models cannot drift from the official DAP schema.

For every model in `dap_server.protocol.models`: its schema definition exists (by
name; `XxxResponseBody` / `XxxEventBody` are the inline bodies), every field is a
schema property under its wire name with a compatible type, requiredness matches,
and no schema property is missing. Then a fully populated instance of each model,
serialised, validates against the schema inside a real message envelope.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from dap_server.protocol import models
from tests.dap_harness import SchemaValidator, shared_validator

SCHEMA = shared_validator()
DEFS = SCHEMA.definitions
ALL_TYPES = {"array", "boolean", "integer", "null", "number", "object", "string"}

MODEL_CLASSES = [
    cls
    for name in models.__all__
    if inspect.isclass(cls := getattr(models, name))
    and issubclass(cls, BaseModel)
    and cls not in (models.DapModel, models.DapArguments)
]
TYPE_ALIASES = [name for name in models.__all__ if not inspect.isclass(getattr(models, name))]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def merged(definition: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Properties and required names of an object definition, following allOf and $ref."""
    if "$ref" in definition:
        return merged(DEFS[definition["$ref"].split("/")[-1]])
    props: dict[str, Any] = {}
    required: set[str] = set()
    for part in definition.get("allOf", [definition]):
        if "$ref" in part:
            p, r = merged(part)
        else:
            p, r = part.get("properties", {}), set(part.get("required", []))
        props.update(p)
        required |= r
    return props, required


def schema_for_model(name: str) -> dict[str, Any]:
    if name.endswith("ResponseBody"):
        props, _ = merged(DEFS[name.removesuffix("Body")])
        return dict(props["body"])
    if name.endswith("EventBody"):
        props, _ = merged(DEFS[name.removesuffix("Body")])
        return dict(props["body"])
    assert name in DEFS, f"models.{name} has no schema definition of that name"
    return dict(DEFS[name])


def wire_name(name: str, info: FieldInfo) -> str:
    alias = info.serialization_alias or info.alias
    assert alias is not None, name
    return alias


def type_problems(annotation: Any, schema: dict[str, Any], where: str) -> list[str]:
    """Why `annotation` does not fit property `schema` (empty if it does)."""
    if "$ref" in schema:
        target = schema["$ref"].split("/")[-1]
        definition = DEFS[target]
        if definition.get("type") == "string":
            alias = getattr(models, target, None)
            if alias is None:
                return [f"{where}: no alias models.{target}"]
            if annotation != alias:
                return [f"{where}: {annotation!r} is not models.{target}"]
            return []
        if annotation is not getattr(models, target, None):
            return [f"{where}: {annotation!r} should be models.{target}"]
        return []
    if "oneOf" in schema:
        options = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else (annotation,)
        names = sorted(getattr(o, "__name__", repr(o)) for o in options)
        wanted = sorted(s["$ref"].split("/")[-1] for s in schema["oneOf"])
        return [] if names == wanted else [f"{where}: {names} != oneOf {wanted}"]
    wanted_types = schema.get("type")
    if isinstance(wanted_types, list):
        if set(wanted_types) == ALL_TYPES:
            return [] if annotation is Any else [f"{where}: any JSON value, but annotated {annotation!r}"]
        options = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else (annotation,)
        problems = []
        remaining = [t for t in wanted_types if t != "null"]
        if ("null" in wanted_types) != (type(None) in options):
            problems.append(f"{where}: null allowed by schema {wanted_types} vs annotation {annotation!r}")
        non_null = [o for o in options if o is not type(None)]
        if len(non_null) != len(remaining):
            return [*problems, f"{where}: {annotation!r} does not match types {wanted_types}"]
        for option, json_type in zip(non_null, remaining, strict=True):
            problems += type_problems(option, {"type": json_type}, where)
        return problems
    origin = get_origin(annotation)
    if wanted_types == "string":
        if "enum" in schema:
            if origin is not Literal or set(get_args(annotation)) != set(schema["enum"]):
                return [f"{where}: closed enum {schema['enum']} but annotated {annotation!r}"]
            return []
        return [] if annotation is str else [f"{where}: string but annotated {annotation!r}"]
    if wanted_types == "integer":
        return [] if annotation is int else [f"{where}: integer but annotated {annotation!r}"]
    if wanted_types == "number":
        return [] if annotation is float else [f"{where}: number but annotated {annotation!r}"]
    if wanted_types == "boolean":
        return [] if annotation is bool else [f"{where}: boolean but annotated {annotation!r}"]
    if wanted_types == "array":
        if origin is not list:
            return [f"{where}: array but annotated {annotation!r}"]
        return type_problems(get_args(annotation)[0], schema["items"], where + "[]")
    if wanted_types == "object":
        if "properties" in schema:
            if not (inspect.isclass(annotation) and issubclass(annotation, BaseModel)):
                return [f"{where}: object with properties but annotated {annotation!r}"]
            return model_problems(annotation, schema)
        if origin is not dict:
            return [f"{where}: object but annotated {annotation!r}"]
        _key, value = get_args(annotation)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return type_problems(value, extra, where + "{}")
        return [] if value is Any else [f"{where}: free-form object but values annotated {value!r}"]
    return [f"{where}: unhandled schema {schema}"]


def strip_optional(annotation: Any) -> tuple[Any, bool]:
    if get_origin(annotation) in (Union, types.UnionType):
        args = get_args(annotation)
        if type(None) in args:
            rest = tuple(a for a in args if a is not type(None))
            return (rest[0] if len(rest) == 1 else Union[rest]), True  # noqa: UP007
    return annotation, False


def model_problems(cls: type[BaseModel], schema: dict[str, Any]) -> list[str]:
    props, required = merged(schema)
    problems = []
    seen = set()
    hints = typing.get_type_hints(cls, vars(models))
    for name, info in cls.model_fields.items():
        wire = wire_name(name, info)
        seen.add(wire)
        where = f"{cls.__name__}.{name} ({wire})"
        if wire not in props:
            problems.append(f"{where}: not a property of the schema definition")
            continue
        if info.is_required() != (wire in required):
            problems.append(f"{where}: required={info.is_required()} but schema required={wire in required}")
        annotation = hints[name]
        prop = props[wire]
        if annotation is Any:
            problems += type_problems(annotation, prop, where)
            continue
        inner, optional = strip_optional(annotation)
        if wire not in required and not optional:
            problems.append(f"{where}: optional in the schema but not Optional")
        nullable = isinstance(prop.get("type"), list) and "null" in prop["type"]
        problems += type_problems(annotation if nullable and wire in required else inner, prop, where)
    for missing in sorted(set(props) - seen):
        problems.append(f"{cls.__name__}: schema property {missing!r} has no field")
    return problems


def test_model_list_is_not_empty() -> None:
    # guards against the parametrisations below silently testing nothing
    names = {cls.__name__ for cls in MODEL_CLASSES}
    assert len(MODEL_CLASSES) > 60
    assert {
        "Source",
        "StackFrame",
        "SetBreakpointsArguments",
        "StoppedEventBody",
        "ErrorResponseBody",
    } <= names


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
def test_model_matches_schema(cls: type[BaseModel]) -> None:
    problems = model_problems(cls, schema_for_model(cls.__name__))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", TYPE_ALIASES)
def test_string_definitions(name: str) -> None:
    definition = DEFS[name]
    alias = getattr(models, name)
    assert definition["type"] == "string"
    if "enum" in definition:
        assert get_origin(alias) is Literal and list(get_args(alias)) == definition["enum"]
    else:
        assert alias is str  # open enumeration (`_enum`)


def test_checker_catches_drift() -> None:
    """The cross-check itself must fail on a wrong model (else it proves nothing)."""

    class Thread(models.DapModel):  # wrong on purpose: id is a string, name optional, extra field
        id: str
        name: str | None = None
        colour: str | None = None

    problems = model_problems(Thread, DEFS["Thread"])
    assert any("Thread.id" in p and "integer" in p for p in problems)
    assert any("Thread.name" in p and "required" in p for p in problems)
    assert any("colour" in p and "not a property" in p for p in problems)

    class StoppedEventBody(models.DapModel):  # misses every optional property
        reason: str

    assert any("threadId" in p for p in model_problems(StoppedEventBody, schema_for_model("StoppedEventBody")))


# ---------------------------------------------------------------------------- populated instances


def sample_value(annotation: Any, depth: int) -> Any:
    inner, _ = strip_optional(annotation)
    origin = get_origin(inner)
    if inner is Any:
        return {"any": ["json", 1]}
    if origin is Literal:
        return get_args(inner)[0]
    if origin in (Union, types.UnionType):
        return sample_value(get_args(inner)[0], depth)
    if origin is list:
        return [sample_value(get_args(inner)[0], depth)]
    if origin is dict:
        return {"key": sample_value(get_args(inner)[1], depth)}
    if inspect.isclass(inner) and issubclass(inner, BaseModel):
        return sample(inner, depth + 1)
    return {str: "text", int: 1, float: 1.5, bool: True}[inner]


def sample(cls: type[BaseModel], depth: int = 0) -> BaseModel:
    """An instance with every field set (only required ones below depth 2: Source nests Sources)."""
    hints = typing.get_type_hints(cls, vars(models))
    values = {
        name: sample_value(hints[name], depth)
        for name, info in cls.model_fields.items()
        if info.is_required() or depth < 2
    }
    return cls(**values)


def envelope(cls: type[BaseModel], wire: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    name = cls.__name__
    if name == "ErrorResponseBody":
        message = {"seq": 2, "type": "response", "request_seq": 1, "command": "x", "success": False}
        return "ErrorResponse", {**message, "message": "m", "body": wire}
    if name.endswith("ResponseBody"):
        command = _lower(name.removesuffix("ResponseBody"))
        message = {"seq": 2, "type": "response", "request_seq": 1, "command": command, "success": True}
        return _cap(command) + "Response", {**message, "body": wire}
    if name.endswith("EventBody"):
        event = _lower(name.removesuffix("EventBody"))
        return _cap(event) + "Event", {"seq": 2, "type": "event", "event": event, "body": wire}
    if name.endswith("Arguments"):
        command = _lower(name.removesuffix("Arguments").removesuffix("Request"))
        definition = _cap(command) + "Request"
        return definition, {"seq": 1, "type": "request", "command": command, "arguments": wire}
    return name, wire


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
def test_populated_instance_validates(cls: type[BaseModel]) -> None:
    instance = sample(cls)
    wire = instance.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert isinstance(instance, models.DapModel) and instance.to_dict() == wire
    definition, message = envelope(cls, wire)
    validator: SchemaValidator = SCHEMA
    assert validator.errors(message, definition) == []
    # every key on the wire is a schema property (the schema itself allows extra keys)
    props, _ = merged(schema_for_model(cls.__name__))
    assert set(wire) <= set(props)
    # and it parses back to an equal model
    assert type(instance).model_validate(wire) == instance


def test_arguments_keep_unknown_keys_and_accept_wire_names() -> None:
    args = models.LaunchRequestArguments.model_validate(
        {"program": "p.yaml", "params": {"a": "1"}, "noDebug": True, "__restart": {"n": 1}}
    )
    assert args.no_debug is True and args.restart_data == {"n": 1}
    assert args.model_extra == {"program": "p.yaml", "params": {"a": "1"}}
    init = models.InitializeRequestArguments.model_validate({"adapterID": "pipeline", "clientID": "c", "new": 1})
    assert (init.adapter_id, init.client_id) == ("pipeline", "c")
    assert init.to_dict() == {"adapterID": "pipeline", "clientID": "c", "new": 1}


def test_non_argument_models_ignore_unknown_keys() -> None:
    source = models.Source.model_validate({"path": "/a.yaml", "vendorThing": 3})
    assert source.to_dict() == {"path": "/a.yaml"}
