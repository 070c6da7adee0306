"""Notebook generation: the templates, their parameters, papermill runs, the batch.

```python
from casebook.notebooks import case_parameters, run_notebook, template_path

run_notebook(
    template_path("case.ipynb"), out / "P1" / "case.ipynb", case_parameters("P1", database_url)
)
```

As papermill splits `parameterize`, `inspection` and `execute`, the parts live in private
modules and this module is the API:

- templates (`_templates`): the shipped `case.ipynb`, `dashboard.ipynb` and
  `clinic.ipynb`, found with `importlib.resources` in a checkout and in an installed wheel;
- parameters (`_parameters`): checked names and values, each template's parameters
  (`case_parameters`, `clinic_parameters`), the password-free database URL a
  kernel connects with, output paths that cannot leave their folder;
- links (`_links`): the case workbook's file name (named after the patient, so JupyterLab's
  tab says whose it is) and links between notebooks that open inside JupyterLab;
- run (`_run`): one papermill run, written atomically, failures naming the cell;
- batch (`_batch` to select and plan, `_jobs` for one job and the batch's `Kernels`,
  `_exec` for the local and Dask executors, `_report` for the report and `_html` for the
  offline HTML copy): every patient's notebooks and the clinic notebook, in parallel and
  incrementally.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from casebook._lazy import lazy_exports

if TYPE_CHECKING:
    from casebook.notebooks._batch import (
        BatchInputError,
        BatchOptions,
        parse_since,
        plan_clinic,
        plan_jobs,
        read_patient_csv,
        run_batch,
        select_patients,
    )
    from casebook.notebooks._html import WIDGET_VIEW
    from casebook.notebooks._jobs import CLINIC, Kernels, Outcome
    from casebook.notebooks._kernel import kernel_settings
    from casebook.notebooks._links import (
        CASE_TEMPLATE,
        LabHtml,
        adopt_previous,
        case_notebook_name,
        case_notebook_path,
        lab_link,
        notebook_name,
    )
    from casebook.notebooks._new import prepare_case_notebook
    from casebook.notebooks._parameters import (
        ParameterError,
        ParameterValue,
        case_parameters,
        check_parameters,
        clinic_parameters,
        kernel_env,
        output_path,
        parse_day,
        public_database_url,
        relative_folder,
    )
    from casebook.notebooks._report import BatchReport
    from casebook.notebooks._run import (
        NotebookFailed,
        NotebookStalled,
        refuse_overwrite,
        run_notebook,
        write_atomic,
    )
    from casebook.notebooks._templates import (
        CLINIC_TEMPLATE,
        DEFAULT_TEMPLATES,
        TEMPLATES_DIR,
        TemplateNotFound,
        default_templates,
        template_path,
    )

# Names load on first use (PEP 562): `casebook new` reaches `_parameters` and `_new` without
# importing the batch, papermill or SQLAlchemy.
_LAZY = {
    "BatchInputError": "_batch",
    "BatchOptions": "_batch",
    "parse_since": "_batch",
    "plan_jobs": "_batch",
    "read_patient_csv": "_batch",
    "run_batch": "_batch",
    "select_patients": "_batch",
    "Outcome": "_jobs",
    "ParameterError": "_parameters",
    "ParameterValue": "_parameters",
    "case_parameters": "_parameters",
    "check_parameters": "_parameters",
    "output_path": "_parameters",
    "public_database_url": "_parameters",
    "BatchReport": "_report",
    "NotebookFailed": "_run",
    "NotebookStalled": "_run",
    "run_notebook": "_run",
    "write_atomic": "_run",
    "DEFAULT_TEMPLATES": "_templates",
    "TEMPLATES_DIR": "_templates",
    "TemplateNotFound": "_templates",
    "default_templates": "_templates",
    "template_path": "_templates",
    "prepare_case_notebook": "_new",
    "kernel_settings": "_kernel",
    "kernel_env": "_parameters",
    "refuse_overwrite": "_run",
    "plan_clinic": "_batch",
    "CLINIC": "_jobs",
    "Kernels": "_jobs",
    "clinic_parameters": "_parameters",
    "parse_day": "_parameters",
    "relative_folder": "_parameters",
    "CLINIC_TEMPLATE": "_templates",
    "WIDGET_VIEW": "_html",
    "CASE_TEMPLATE": "_links",
    "LabHtml": "_links",
    "adopt_previous": "_links",
    "case_notebook_name": "_links",
    "case_notebook_path": "_links",
    "lab_link": "_links",
    "notebook_name": "_links",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "CASE_TEMPLATE",
    "CLINIC",
    "CLINIC_TEMPLATE",
    "DEFAULT_TEMPLATES",
    "TEMPLATES_DIR",
    "WIDGET_VIEW",
    "BatchInputError",
    "BatchOptions",
    "BatchReport",
    "Kernels",
    "LabHtml",
    "NotebookFailed",
    "NotebookStalled",
    "Outcome",
    "ParameterError",
    "ParameterValue",
    "TemplateNotFound",
    "adopt_previous",
    "case_notebook_name",
    "case_notebook_path",
    "case_parameters",
    "check_parameters",
    "clinic_parameters",
    "default_templates",
    "kernel_env",
    "kernel_settings",
    "lab_link",
    "notebook_name",
    "output_path",
    "parse_day",
    "parse_since",
    "plan_clinic",
    "plan_jobs",
    "prepare_case_notebook",
    "public_database_url",
    "read_patient_csv",
    "refuse_overwrite",
    "relative_folder",
    "run_batch",
    "run_notebook",
    "select_patients",
    "template_path",
    "write_atomic",
]
