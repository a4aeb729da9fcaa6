"""The output caps, fed the kernel's own message shapes."""

import nbformat

from grader.run.output_cap import (
    CappedNotebookClient,
    OutputCaps,
    message_size,
    notebook_cap_hit,
    trim_reply,
)


def client(per_cell=1000, per_notebook=2500):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x") for _ in range(5)]
    capped = CappedNotebookClient(nb, caps=OutputCaps(per_cell, per_notebook))
    capped.reset_execution_trackers()  # as nbclient does when a kernel starts
    capped.clear_before_next_output = False  # as it does before each cell
    return capped


def message(msg_type, content, msg_id="m"):
    return {
        "msg_type": msg_type,
        "header": {"msg_type": msg_type},
        "parent_header": {"msg_id": msg_id},
        "content": content,
    }


def stream(text):
    return message("stream", {"name": "stdout", "text": text})


def test_every_output_kind_is_counted():
    assert message_size({"text": "abc"}) == 3
    assert message_size({"ename": "E", "evalue": "v" * 10, "traceback": ["t" * 5]}) == 16
    assert message_size({"data": {"text/html": "h" * 7}, "metadata": {}}) == 7


def test_a_cell_past_its_cap_is_cut_with_a_note():
    c = client()
    cell = c.nb.cells[0]
    c.process_message(stream("a" * 900), cell, 0)
    c.process_message(message("error", {"ename": "E", "evalue": "e" * 500, "traceback": []}),
                      cell, 0)  # fmt: skip
    c.process_message(message("display_data", {"data": {"text/plain": "d" * 10}, "metadata": {}}),
                      cell, 0)  # fmt: skip
    texts = [o.get("text", "") for o in cell.outputs]
    assert len(cell.outputs) == 2 and "more than 1000 bytes" in texts[-1]
    assert c.truncated_cells == {0} and c.notebook_capped_cells == set()


def test_display_updates_count_once_per_output_they_rewrite():
    c = client(per_cell=10_000, per_notebook=10_000)
    content = {"data": {"text/plain": "s"}, "metadata": {}, "transient": {"display_id": "big"}}
    for index in range(3):
        c.process_message(message("display_data", content), c.nb.cells[index], index)
    update = {**content, "data": {"text/plain": "u" * 2000}}
    c.process_message(message("update_display_data", update), c.nb.cells[3], 3)
    assert all(
        o["data"]["text/plain"] == "u" * 2000 for i in range(3) for o in c.nb.cells[i].outputs
    )
    c.process_message(message("update_display_data", update), c.nb.cells[3], 3)
    assert 3 in c.truncated_cells  # 2 × 3 × 2000 > 10 000


def test_the_notebook_total_is_capped_across_cells():
    c = client(per_cell=1000, per_notebook=2500)
    for index in range(5):
        c.process_message(stream("z" * 900), c.nb.cells[index], index)
    assert c.notebook_bytes == 1800 and c.notebook_capped_cells == {2, 3, 4}
    assert notebook_cap_hit(c.nb)


def test_replies_keep_only_the_head_of_an_error():
    content = {"evalue": "v" * 10_000, "traceback": ["t" * 20_000] * 100}
    trim_reply(content)
    assert len(content["evalue"]) == 2000
    assert len(content["traceback"]) == 40 and len(content["traceback"][0]) == 8000
