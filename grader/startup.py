"""What the grader's own processes (the command line, Dask workers) skip at start-up.

jsonschema, which nbformat imports, imports rfc3987_syntax when that package is installed
(JupyterLab's dependencies bring it) and builds its Lark grammar at import: 0.7 s of
every start-up, for an "iri" string format that no notebook schema uses.  None in
sys.modules makes that import fail, and jsonschema goes on without the format.  Not done
for a library user's process or a student's kernel (``%grade``): only the grader's own.
"""

import sys


def skip_slow_imports() -> None:
    sys.modules.setdefault("rfc3987_syntax", None)
