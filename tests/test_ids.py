"""The time-ordered ids every table uses (``threadline.db``), and the audit log's, which keep
their last bits free for the MES ``/event/`` ids derived from them."""

from __future__ import annotations

from threadline.audit.models import KEY_BITS, new_audit_id
from threadline.db import id_generator, new_id, new_ids


def test_ids_are_version_7_and_ascend_within_a_millisecond() -> None:
    made = [new_id() for _ in range(500)] + new_ids(5000)
    assert all(one.version == 7 and one.variant == "specified in RFC 4122" for one in made)
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_audit_ids_end_in_zero_bits_and_still_ascend() -> None:
    made = [new_audit_id() for _ in range(500)] + new_audit_id.many(5000)
    mask = (1 << KEY_BITS) - 1
    assert all(one.int & mask == 0 for one in made)
    assert all(one.version == 7 for one in made)
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_a_millisecond_used_up_borrows_the_next_one() -> None:
    # 60 spare bits leave a 14-bit counter starting below 2^12: a claim past it moves on
    small = id_generator(60)
    made = [one for _ in range(10) for one in small.many(3000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert all(one.int & ((1 << 60) - 1) == 0 for one in made)
