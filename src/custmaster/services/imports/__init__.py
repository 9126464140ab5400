"""Bulk import, source-reading half: files -> customer create-commands.

Readers stream CSV (encoding and delimiter detected) and XLSX; declarative YAML templates
(``templates/``, documented in ``templates/README.md``) map source columns, through
transforms and value maps, to the create request of DESIGN.md §4. Grouped exports (D365:
one row per legal entity) become one command with entity overrides; related files
(Salesforce contacts) join their parents. Nothing here touches the database: the import
job validates, persists and reports each :class:`ImportRecord`.
"""

from custmaster.services.imports.formula import neutralise_cell, unneutralise_cell
from custmaster.services.imports.reader import (
    ImportStream,
    SourceCheck,
    count_rows,
    inspect_sources,
    read_records,
)
from custmaster.services.imports.records import FieldIssue, ImportRecord, SourceRef
from custmaster.services.imports.sources import (
    ImportFileError,
    SourceInfo,
    SourceReader,
    detect_delimiter,
    detect_encoding,
)
from custmaster.services.imports.templates import (
    Template,
    TemplateError,
    load_template,
    shipped_templates,
)

__all__ = [
    "FieldIssue",
    "ImportFileError",
    "ImportRecord",
    "ImportStream",
    "SourceCheck",
    "SourceInfo",
    "SourceReader",
    "SourceRef",
    "Template",
    "TemplateError",
    "count_rows",
    "detect_delimiter",
    "detect_encoding",
    "inspect_sources",
    "load_template",
    "neutralise_cell",
    "read_records",
    "shipped_templates",
    "unneutralise_cell",
]
