"""Reports and export formats: HTML pages (jinja2), CSV, Gradescope, Canvas."""

from grader.report.exporters import EXPORTERS, Exporter, ExportOptions, export_all
from grader.report.html import render_class_report, render_student_report, write_student_report

__all__ = [
    "EXPORTERS",
    "ExportOptions",
    "Exporter",
    "export_all",
    "render_class_report",
    "render_student_report",
    "write_student_report",
]
