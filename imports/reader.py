"""Which format an uploaded file is, and its annotations read from it."""

from imports import hypothesis, w3c
from imports.formats import ImportFileError, ParsedFile, load_json

UNKNOWN_FORMAT = (
    "This is not a file of annotations this site can read. It takes a W3C Web Annotation file "
    "(JSON-LD: an AnnotationCollection, an AnnotationPage, a list of annotations or one "
    'annotation) or a Hypothesis export (JSON with "annotations").'
)


def read_annotations(data: bytes) -> ParsedFile:
    """The file's format and annotations, or ImportFileError saying what is wrong with it."""
    value = load_json(data)
    try:
        if hypothesis.recognizes(value):
            return hypothesis.parse(value)
        if w3c.recognizes(value):
            return w3c.parse(value)
    except RecursionError:  # an annotation nested deep enough to defeat json.dumps
        raise ImportFileError("The file's JSON is nested too deeply to be annotations.") from None
    raise ImportFileError(UNKNOWN_FORMAT)
