"""The machine-readable contract: JSON Schemas of the job and the result, and
the OpenAPI 3.1 document of the HTTP API built on them.

The files beside this module are the source; the OpenAPI file refers to the
schema files by relative `$ref`, so it reads as it is in the repository.
`openapi_document()` serves it self-contained: both schemas inlined under
components.schemas, every reference rewritten to point there.

Validation needs `jsonschema`, a test dependency: it is imported only by the
validate_* helpers, so the service itself runs without it.
"""
import functools
import importlib.resources
import json

from execd import __version__

JOB_FILE = "job.schema.json"
RESULT_FILE = "result.schema.json"
OPENAPI_FILE = "openapi.json"
# Where openapi_document() puts each schema file: components.schemas.<name>.
INLINED = {JOB_FILE: "Job", RESULT_FILE: "Result"}


@functools.cache
def _text(name):
    return importlib.resources.files(__name__).joinpath(name).read_text("utf-8")


def _load(name):
    return json.loads(_text(name))  # a fresh copy: callers may change it


def job_schema():
    return _load(JOB_FILE)


def result_schema():
    return _load(RESULT_FILE)


def _rewrite_refs(node, rewrite):
    """Every "$ref" in a JSON tree replaced by rewrite(ref), in place."""
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if isinstance(item.get("$ref"), str):
                item["$ref"] = rewrite(item["$ref"])
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _inlined(name, component):
    """A schema file as a component: no $id (it would make "#/..." point into the
    schema, not the document) and its own "#/..." references made absolute."""
    schema = _load(name)
    schema.pop("$id", None)
    schema.pop("$schema", None)
    prefix = "#/components/schemas/" + component
    _rewrite_refs(schema, lambda ref: prefix + ref[1:] if ref.startswith("#") else ref)
    return schema


def _to_component(ref):
    """"result.schema.json#/$defs/Error" -> "#/components/schemas/Result/$defs/Error"."""
    file, _, pointer = ref.partition("#")
    if file not in INLINED:
        return ref
    return "#/components/schemas/" + INLINED[file] + pointer


@functools.cache
def _document_text():
    document = _load(OPENAPI_FILE)
    document["info"]["version"] = __version__
    _rewrite_refs(document, _to_component)
    for name, component in INLINED.items():
        document["components"]["schemas"][component] = _inlined(name, component)
    return json.dumps(document, ensure_ascii=True, sort_keys=False)


def openapi_document():
    """The OpenAPI 3.1 document as GET /openapi.json serves it: self-contained."""
    return json.loads(_document_text())


def openapi_json():
    """openapi_document() as the bytes that are served."""
    return _document_text().encode("ascii")


# -- validation (tests; needs jsonschema) ----------------------------------------

@functools.cache
def _validator(name):
    import jsonschema

    schema = _load(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _validate(name, instance):
    """Raises jsonschema.ValidationError naming the most relevant violation."""
    import jsonschema.exceptions

    error = jsonschema.exceptions.best_match(_validator(name).iter_errors(instance))
    if error is not None:
        raise error


def validate_job(job):
    _validate(JOB_FILE, job)


def validate_result(result):
    _validate(RESULT_FILE, result)
