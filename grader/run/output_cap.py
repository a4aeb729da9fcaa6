"""Output caps: no cell and no notebook can make the grader hold more output than this.

Every message that brings output counts -- streams, errors (name, value and traceback),
``display_data``, ``execute_result`` and ``update_display_data`` (which rewrites every
output showing its display id, so it counts once per output it rewrites) -- against the
cell's cap and the notebook's total.  Output past a cap is dropped as it arrives, with a
note in the cell saying which cap; an execute reply's error is trimmed before the
grader keeps it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import nbformat
from nbclient import NotebookClient

MAX_OUTPUT_BYTES_PER_CELL = 1024 * 1024
MAX_OUTPUT_BYTES_PER_NOTEBOOK = 32 * 1024 * 1024
MAX_ERROR_VALUE_CHARS = 2000  # of an execute reply's evalue
MAX_TRACEBACK_FRAMES = 40
MAX_TRACEBACK_FRAME_CHARS = 8000
CELL_NOTE = "\n[output truncated by the grader: this cell printed more than {limit} bytes]\n"
NOTEBOOK_NOTE = (
    "\n[output dropped by the grader: the notebook's output passed its limit of {limit} bytes]\n"
)
NOTEBOOK_NOTE_MARK = "[output dropped by the grader: the notebook's output"
OUTPUT_MESSAGES = frozenset(
    {"stream", "error", "display_data", "execute_result", "update_display_data"}
)


@dataclass(frozen=True)
class OutputCaps:
    per_cell_bytes: int = MAX_OUTPUT_BYTES_PER_CELL
    per_notebook_bytes: int = MAX_OUTPUT_BYTES_PER_NOTEBOOK


def message_size(content: dict) -> int:
    """How much a message's content would add to the notebook (characters of text)."""
    size = len(content.get("text", "") or "")
    size += len(str(content.get("ename", "") or "")) + len(str(content.get("evalue", "") or ""))
    size += sum(len(str(line)) for line in content.get("traceback") or ())
    for value in (content.get("data") or {}).values():
        size += len(value) if isinstance(value, str) else len(json.dumps(value))
    metadata = content.get("metadata")
    if metadata:
        size += len(json.dumps(metadata, default=str))
    return size


def trim_reply(content: dict) -> None:
    """Shorten an execute reply's error in place: the grader keeps only its head."""
    if "evalue" in content and isinstance(content["evalue"], str):
        content["evalue"] = content["evalue"][:MAX_ERROR_VALUE_CHARS]
    traceback = content.get("traceback")
    if isinstance(traceback, list):
        kept = traceback[-MAX_TRACEBACK_FRAMES:]
        content["traceback"] = [str(frame)[:MAX_TRACEBACK_FRAME_CHARS] for frame in kept]


class CappedNotebookClient(NotebookClient):
    """A NotebookClient that never holds more output than its caps allow."""

    def __init__(self, *args, caps: OutputCaps | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.caps = caps or OutputCaps()
        self.output_bytes: dict[int, int] = {}
        self.notebook_bytes = 0
        self.truncated_cells: set[int] = set()  # cut by either cap
        self.notebook_capped_cells: set[int] = set()  # cut by the notebook's cap

    def process_message(self, msg, cell, cell_index):
        msg_type = msg.get("msg_type") or msg.get("header", {}).get("msg_type")
        if msg_type in OUTPUT_MESSAGES:
            content = msg.get("content") or {}
            size = message_size(content)
            if msg_type == "update_display_data":
                transient = content.get("transient") or {}
                shown = self._display_id_map.get(transient.get("display_id"), {})
                size *= max(1, sum(len(indices) for indices in shown.values()))
            if not self._admit(size, cell, cell_index):
                return None
        return super().process_message(msg, cell, cell_index)

    def _admit(self, size: int, cell, cell_index: int) -> bool:
        used = self.output_bytes.get(cell_index, 0) + size
        total = self.notebook_bytes + size
        if cell_index in self.truncated_cells:
            return False  # once cut, the rest of the cell is dropped too
        if used <= self.caps.per_cell_bytes and total <= self.caps.per_notebook_bytes:
            self.output_bytes[cell_index] = used
            self.notebook_bytes = total
            return True
        if cell_index not in self.truncated_cells:
            self.truncated_cells.add(cell_index)
            if total > self.caps.per_notebook_bytes:
                self.notebook_capped_cells.add(cell_index)
                note = NOTEBOOK_NOTE.format(limit=self.caps.per_notebook_bytes)
            else:
                note = CELL_NOTE.format(limit=self.caps.per_cell_bytes)
            cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=note))
        return False

    async def _async_poll_for_reply(self, *args, **kwargs):
        reply = await super()._async_poll_for_reply(*args, **kwargs)
        if isinstance(reply, dict) and isinstance(reply.get("content"), dict):
            trim_reply(reply["content"])
        return reply


CELL_NOTE_MARK = "[output truncated by the grader: this cell printed more than"


def caps_hit(executed) -> list[str]:
    """The output caps that cut something, by name, from the notes they left."""
    found = set()
    for cell in executed.cells if executed is not None else ():
        for output in cell.get("outputs", []):
            if output.get("output_type") != "stream":
                continue
            text = output.get("text", "")
            if NOTEBOOK_NOTE_MARK in text:
                found.add("output_per_notebook")
            elif CELL_NOTE_MARK in text:
                found.add("output_per_cell")
    return sorted(found)


def notebook_cap_hit(executed) -> bool:
    """Whether the notebook's total cap cut any output (its note is in the outputs)."""
    return "output_per_notebook" in caps_hit(executed)
