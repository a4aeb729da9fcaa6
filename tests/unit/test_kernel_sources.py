"""Choosing a kernel source: a pool whose parent cannot start gives way to plain
kernels with a warning that says why (the batch and `check` go on)."""

from grader.run.pool import ForkSource, PlainSource, PoolUnavailable, start_or_plain


class _BrokenParent:
    """A pool parent that died while importing (what Zygote.wait_ready then raises)."""

    def alive(self):
        return True

    def wait_ready(self):
        raise PoolUnavailable("the pool's parent did not start (see zygote.log)")

    def close(self):
        self.closed = True


def test_a_pool_that_cannot_start_gives_way_to_plain_kernels(capsys):
    parent = _BrokenParent()
    source = start_or_plain(ForkSource(ready_kernels=2, zygote=parent))
    assert isinstance(source, PlainSource)
    assert "did not start" in capsys.readouterr().err
    assert parent.closed  # the broken parent is not left running


def test_a_source_that_starts_is_kept():
    plain = PlainSource()
    assert start_or_plain(plain) is plain
