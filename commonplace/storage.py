"""Static files as served with DEBUG off: hashed names (cached for a year by WhiteNoise),
precompressed, and the `import` lines inside our ES modules rewritten to the hashed names
too, so a module and its imports always come from the same deploy."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
