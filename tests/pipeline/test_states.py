"""The shot state machine, exhaustively, under both policies."""
from __future__ import annotations

import itertools

import pytest

from cinev4.errors import TransitionRefused
from cinev4.pipeline.states import Action, Policy, Status, can_manifest, target_status

S, A = Status, Action
STRICT, LOOSE = Policy(immutable_outputs=True), Policy(immutable_outputs=False)

# Every allowed (action, from, policy) -> to; anything else must be refused.
ALLOWED = {
    (A.QC, S.IN_PROGRESS, True): S.QC,
    (A.QC, S.IN_PROGRESS, False): S.QC,
    (A.DONE, S.QC, True): S.DONE,
    (A.DONE, S.QC, False): S.DONE,
    (A.REOPEN, S.QC, True): S.IN_PROGRESS,  # rework is always allowed
    (A.REOPEN, S.QC, False): S.IN_PROGRESS,
    (A.REOPEN, S.DONE, False): S.IN_PROGRESS,
    (A.REOPEN, S.FAIL, False): S.IN_PROGRESS,
    (A.FAIL, S.IN_PROGRESS, True): S.FAIL,
    (A.FAIL, S.IN_PROGRESS, False): S.FAIL,
    (A.FAIL, S.QC, True): S.FAIL,
    (A.FAIL, S.QC, False): S.FAIL,
    (A.FAIL, S.DONE, False): S.FAIL,
    (A.NEW_VERSION, S.IN_PROGRESS, False): S.IN_PROGRESS,
}


@pytest.mark.parametrize("action,status,strict", list(itertools.product(Action, Status, (True, False))))
def test_transition_table(action: Action, status: Status, strict: bool) -> None:
    policy = STRICT if strict else LOOSE
    expected = ALLOWED.get((action, status, strict))
    if expected is None:
        with pytest.raises(TransitionRefused) as caught:
            target_status(action, status, policy)
        assert caught.value.reasons and all(caught.value.reasons)
    else:
        assert target_status(action, status, policy) is expected


@pytest.mark.parametrize("status", [S.DONE, S.FAIL])
def test_terminal_under_strict_policy(status: Status) -> None:
    for action in Action:
        with pytest.raises(TransitionRefused, match="terminal|needs|already") as caught:
            target_status(action, status, STRICT)
        assert caught.value.reasons


def test_strict_refusal_names_the_policy() -> None:
    with pytest.raises(TransitionRefused, match="immutable_outputs"):
        target_status(A.REOPEN, S.DONE, STRICT)
    with pytest.raises(TransitionRefused, match="immutable_outputs: false"):
        target_status(A.NEW_VERSION, S.IN_PROGRESS, STRICT)


@pytest.mark.parametrize("strict", [True, False])
def test_manifest_only_while_producing_or_reviewing(strict: bool) -> None:
    policy = STRICT if strict else LOOSE
    can_manifest(S.IN_PROGRESS, policy)
    can_manifest(S.QC, policy)
    for status in (S.DONE, S.FAIL):
        with pytest.raises(TransitionRefused):
            can_manifest(status, policy)


def test_policy_from_document() -> None:
    policy = Policy.from_document({"hash_alg": "sha256", "path_mode": "relative", "immutable_outputs": False,
                                   "done_requires_manifest": True})
    assert not policy.strict and policy.done_requires_manifest


# --- a status earned in the history (unearned_status) ---------------------------------------------

def _entry(frm: Status | None, to: Status, version: str = "v0001") -> dict[str, object]:
    return {"utc": "2024-05-01T12:00:00Z", "from": frm.value if frm else None, "to": to.value, "reason": "r",
            "version": version}


EARNED = [_entry(None, S.IN_PROGRESS), _entry(S.IN_PROGRESS, S.QC), _entry(S.QC, S.DONE)]


def test_every_status_the_machine_gives_is_earned() -> None:
    from cinev4.pipeline.states import unearned_status

    assert unearned_status(S.DONE, "v0001", EARNED) == []
    assert unearned_status(S.QC, "v0001", EARNED[:2]) == []
    assert unearned_status(S.IN_PROGRESS, "v0001", EARNED[:1]) == []
    redo = [*EARNED, _entry(S.DONE, S.IN_PROGRESS), _entry(S.IN_PROGRESS, S.IN_PROGRESS, "v0002"),
            _entry(S.IN_PROGRESS, S.QC, "v0002"), _entry(S.QC, S.DONE, "v0002")]
    assert unearned_status(S.DONE, "v0002", redo) == []


def test_done_by_hand_is_not_earned() -> None:
    from cinev4.pipeline.states import unearned_status

    assert unearned_status(S.DONE, "v0001", EARNED[:1]) == [
        "the status is DONE but the history ends at IN_PROGRESS: the status was edited, not earned by a transition"]
    done_elsewhere = "DONE is not earned: the history has no QC -> DONE transition of v0002 as its last entry " \
                     "(only cinev4 shot done, through its gate, makes a shot DONE)"
    assert unearned_status(S.DONE, "v0002", EARNED) == [done_elsewhere]  # DONE of another version
    skipped_qc = [EARNED[0], _entry(S.IN_PROGRESS, S.DONE)]
    assert unearned_status(S.DONE, "v0001", skipped_qc) == [done_elsewhere.replace("v0002", "v0001")]
    broken = [EARNED[0], EARNED[2]]  # QC -> DONE appended after "created": not a chain
    assert unearned_status(S.DONE, "v0001", broken) == [
        "history entry 2 starts from QC but the one before it ends at IN_PROGRESS: the history was edited"]
    assert unearned_status(S.IN_PROGRESS, "v0001", []) == [
        "the status is IN_PROGRESS but the history ends at None: the status was edited, not earned by a transition"]
