"""The lawful-access half of a run: the same warrant on both builds, capture, opening, abuses.

Both builds' Bob is the target of a warrant with the same terms (window, authority, trustees),
activated on the one relay before the conversation (capture is prospective). After the
conversation the agency exports each capture and runs the whole opening procedure on it: a logged
request, the trustees' answers, the combination with 1, K-1 and K answers; a thief holding share
files opens what he can without any procedure; and the abuses of the design note are tried
against the real tools. Every outcome, success or refusal, is an evidence record.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parley.app.compare import warrant
from parley.app.compare.evidence import Cell, Outcome, not_run
from parley.app.compare.scenario import Side
from parley.app.compare.steps import NotRun
from parley.app.compare.warrant import THRESHOLD, Flow, ToolResult

if TYPE_CHECKING:
    from parley.app.compare.run import Runner

WINDOW_BEFORE_S, WINDOW_AFTER_S = 60, 3600
LATENCY_SAMPLES = 4
TRUSTEE_ROWS = (
    "one trustee",
    "K-1 trustees",
    "K trustees with a logged, in-scope warrant",
    "K trustees without a warrant",
    "whoever stole all K shares",
)


def liid_of(variant: str) -> str:
    return f"LIID-COMPARE-{variant.upper()}"


class Lawful:
    """The warrant phases of one run (see the module docstring)."""

    def __init__(self, runner: Runner, flow: Flow, warrant_python: Path) -> None:
        self.r = runner
        self.flow = flow
        self.python = warrant_python
        self.captures: dict[str, dict[str, Any]] = {}
        self.capture_files: dict[str, Path] = {}
        self.requests: dict[str, Path] = {}
        self.answers: dict[str, list[Path]] = {}
        self.head0: Path | None = None
        self.activated: dict[str, float] = {}
        self.thief: dict[str, list[dict[str, Any]]] = {}

    @property
    def work(self) -> Path:
        return self.flow.work

    # ---- before the conversation -----------------------------------------------------------

    def start(self, sides: list[Side]) -> None:
        """Create the audit log; issue and activate the same warrant terms for each Bob."""
        step = "warrant"
        flow = self.flow
        flow.run(step, "log", "init", "--log", flow.audit, "--authority", flow.authority)
        now = time.time()
        start, end = now - WINDOW_BEFORE_S, now + WINDOW_AFTER_S
        relay = self.r.relay
        assert relay is not None
        for side in sides:
            liid = liid_of(side.variant)
            target = side.status["Bob"]["identity"]
            path = flow.issue(step, liid, target, start, end)
            flow.activate(step, relay.data, path, liid)
            self.activated[side.variant] = time.time()
        self.head0 = self.work / "tree-head-before.json"
        flow.run(step, "log", "head", "--log", flow.audit, "--out", self.head0)
        ref = self.r.evidence.record(
            "warrant-terms",
            {
                "authority": json.loads((flow.authority / "authority.json").read_text()),
                "warrants": {liid: json.loads(p.read_text()) for liid, p in flow.warrants.items()},
                "window": [int(start), int(end)],
                "tree_head_before": json.loads(self.head0.read_text()),
            },
        )
        self.r.facts.relay_saw.setdefault("warrant_terms", {})["ref"] = ref

    # ---- after the conversation ------------------------------------------------------------

    def finish(self, sides: list[Side]) -> None:
        for side in sides:
            self._capture(side)
        for side in sides:
            self._open(side)
        war = next((s for s in sides if s.variant == "warrant"), None)
        if war is not None and war.variant in self.requests:
            self._latency(war)
        self._blast(sides)
        self._bypasses(sides)
        self._audit()

    def _capture(self, side: Side) -> None:
        step = "capture"
        relay = self.r.relay
        assert relay is not None
        liid = liid_of(side.variant)
        path = self.flow.export(step, relay.data, liid)
        export = json.loads(path.read_text(encoding="utf-8"))
        kept = self.r.o.out / "evidence" / f"capture-{side.variant}.json"
        shutil.copyfile(path, kept)
        records = export["records"]
        ids = {r["attestation"]["message_id"] for r in records}
        ours = [s for s in side.sent if s.id in ids]
        content = sum(int(r["attestation"]["size"]) for r in records)
        data = {
            "build": side.variant,
            "liid": liid,
            "target": side.status["Bob"]["identity"],
            "capture_file": f"evidence/capture-{side.variant}.json",
            "capture_file_bytes": path.stat().st_size,
            "records": len(records),
            "content_bytes": content,
            "scripted_messages_captured": len(ours),
            "scripted_messages_to_or_from_bob": sum(
                1 for s in side.sent if "Bob" in (s.sender, s.recipient)
            ),
            "other_records": "delivery receipts and the mixed pair's traffic to or from Bob",
        }
        text = (
            f"{len(records)} records ({len(ours)} of them scripted messages), {content} bytes "
            f"of content; export file {path.stat().st_size} bytes"
        )
        cell = self.r.evidence.cell("shown", text, f"capture-volume-{side.variant}", data)
        self.r.facts.capture[side.variant] = cell
        fields = sorted(records[0]["attestation"]) if records else []
        text = (
            f"per message of the target, signed by the relay: {', '.join(fields)}; and the "
            "content (ciphertext with its envelope, if any)"
        )
        saw = Cell("shown", text if fields else "nothing captured", cell.evidence)
        self.r.facts.relay_saw.setdefault(side.variant, {})["capture"] = saw
        self.captures[side.variant] = export
        self.capture_files[side.variant] = path

    def _cell(self, ok: bool, text: str, slug: str, data: dict[str, Any]) -> Cell:
        return self.r.evidence.cell("opened" if ok else "refused", text, slug, data)

    def _open(self, side: Side) -> None:
        """The whole procedure on one build's capture; fills the trustee rows of the matrix."""
        step = "opening"
        v = side.variant
        flow = self.flow
        matrix = self.r.facts.matrix
        warrant_file = flow.warrants[liid_of(v)]
        request = self.work / f"request-{v}.json"
        asked = flow.request(step, warrant_file, self.capture_files[v], request, self._chosen(side))
        base = {"build": v, "warrant": str(warrant_file.name)}
        if not asked.ok:
            for row in TRUSTEE_ROWS[:4]:
                text = f"the agency's logged request was refused: {asked.sentence}"
                matrix.setdefault(row, {})[v] = self._cell(False, text, f"{row}-{v}", base)
        else:
            self.requests[v] = request
            self._trustees(side, request, base)
        self._stolen_shares(side)

    def _chosen(self, side: Side) -> list[int] | None:
        """The records the agency asks to open: the target's conversation within its own build.

        The capture also holds the mixed pair's traffic (a standard sender's messages carry no
        envelope, and one unopenable record makes trustees refuse a whole request); the agency
        sees from the IRI which accounts a record is between, so it asks for those it can expect
        to open. For the standard build it asks for everything: that none opens is the result.
        """
        if side.variant == "standard":
            return None
        pair = {side.status["Alice"]["identity"], side.status["Bob"]["identity"]}
        records = self.captures[side.variant]["records"]
        return [
            i + 1
            for i, r in enumerate(records)
            if {r["attestation"]["sender"], r["attestation"]["recipient"]} == pair
        ] or None

    def _trustees(self, side: Side, request: Path, base: dict[str, Any]) -> None:
        step = "opening"
        v = side.variant
        flow = self.flow
        matrix = self.r.facts.matrix
        answers: list[Path] = []
        refusal: ToolResult | None = None
        for trustee in range(1, THRESHOLD + 1):
            out = self.work / f"answer-{v}-{trustee}.json"
            answered = flow.share(step, trustee, request, out)
            if not answered.ok:
                refusal = answered
                break
            answers.append(out)
        self.answers[v] = answers
        if refusal is not None:
            text = f"trustees refuse to answer: {refusal.sentence}"
            for row in TRUSTEE_ROWS[:3]:
                data = base | {"refusal": refusal.sentence}
                matrix.setdefault(row, {})[v] = self._cell(False, text, f"{row}-{v}", data)
        else:
            for row, count in ((TRUSTEE_ROWS[0], 1), (TRUSTEE_ROWS[1], THRESHOLD - 1)):
                got = flow.open(step, request, answers[:count])
                data = base | {"answers": count, "result": got.sentence, "stdout": got.stdout}
                text = got.sentence if not got.ok else "opened with fewer than K answers"
                matrix.setdefault(row, {})[v] = self._cell(got.ok, text, f"{row}-{v}", data)
            got = flow.open(step, request, answers)
            matrix.setdefault(TRUSTEE_ROWS[2], {})[v] = self._k_opened(side, got, base)
        matrix.setdefault(TRUSTEE_ROWS[3], {})[v] = self._no_warrant(side, request, base)

    def _k_opened(self, side: Side, got: ToolResult, base: dict[str, Any]) -> Cell:
        v = side.variant
        data = base | {"answers": THRESHOLD, "result": got.sentence}
        if not got.ok:
            return self._cell(False, got.sentence, f"k-trustees-{v}", data)
        opened = json.loads(got.stdout)
        plain = [bytes.fromhex(m["plaintext_hex"]) for m in opened["messages"]]
        texts = [s for s in side.sent if s.kind == "text" and "Bob" in (s.sender, s.recipient)]
        found = [s.id for s in texts if any(s.text.encode() in p for p in plain)]
        data |= {"opened": opened, "scripted_texts": len(texts), "texts_found_verbatim": found}
        text = (
            f"{len(plain)} captured messages opened; {len(found)} of {len(texts)} of the "
            "target's scripted texts read verbatim"
        )
        return self._cell(True, text, f"k-trustees-{v}", data)

    def _no_warrant(self, side: Side, request: Path, base: dict[str, Any]) -> Cell:
        """K trustees asked without a valid warrant: the request's warrant is not the signed one."""
        v = side.variant
        forged = json.loads(request.read_text(encoding="utf-8"))
        forged["warrant"]["liid"] = forged["warrant"]["liid"] + "-NOT-ISSUED"
        path = self.work / f"request-{v}-no-warrant.json"
        path.write_text(json.dumps(forged), encoding="utf-8")
        got = self.flow.share("opening", 1, path, self.work / f"answer-{v}-no-warrant.json")
        data = base | {"how": "the request names a warrant the authority never signed or logged"}
        data["result"] = got.sentence
        text = got.sentence if not got.ok else "a trustee answered without a warrant"
        return self._cell(got.ok, text, f"no-warrant-{v}", data)

    def _stolen_shares(self, side: Side) -> None:
        v = side.variant
        trustees = [self.flow.authority / f"trustee-{i}.json" for i in range(1, THRESHOLD + 1)]
        records = self.captures[v]["records"]
        results = self._thief(trustees, records, "opening")
        opened = sum(1 for r in results if r["opened"])
        data = {"build": v, "share_files": [t.name for t in trustees], "results": results}
        data["how"] = "the K share files alone, no warrant, request, log or proof"
        if opened:
            text = f"{opened} of {len(records)} captured messages opened, no procedure at all"
        else:
            reasons = sorted({str(r.get("reason", "")) for r in results})
            text = f"0 of {len(records)} opened: {'; '.join(reasons)[:160]}"
        cell = self._cell(opened > 0, text, f"stolen-shares-{v}", data)
        self.r.facts.matrix.setdefault(TRUSTEE_ROWS[4], {})[v] = cell
        self.thief[v] = results

    def _thief(
        self, trustees: list[Path], records: list[dict[str, Any]], step: str
    ) -> list[dict[str, Any]]:
        return warrant.thief_open(
            self.python,
            authority=self.flow.authority / "authority.json",
            trustees=trustees,
            records=records,
            step=step,
            log=self.flow.log,
            cwd=self.flow.cwd,
        )

    def _latency(self, side: Side) -> None:
        """Per-message opening: request, K answers and combination for single records, timed."""
        step = "opening"
        v = side.variant
        records = self.captures[v]["records"]
        texts = {s.id for s in side.sent if s.kind == "text"}
        numbers = [i + 1 for i, r in enumerate(records) if r["attestation"]["message_id"] in texts]
        samples: list[dict[str, Any]] = []
        # Each sample is K + 2 processes: fewer at small --messages, so CI's run stays short.
        for n in numbers[: max(1, min(LATENCY_SAMPLES, self.r.o.messages // 10))]:
            started = time.monotonic()
            req = self.work / f"request-{v}-record-{n}.json"
            asked = self.flow.request(step, self.flow.warrants[liid_of(v)], self.capture_files[v],
                                      req, [n])  # fmt: skip
            if not asked.ok:
                break
            answers = []
            for trustee in range(1, THRESHOLD + 1):
                out = self.work / f"answer-{v}-record-{n}-{trustee}.json"
                if not self.flow.share(step, trustee, req, out).ok:
                    break
                answers.append(out)
            if len(answers) < THRESHOLD:
                samples.append({"record": n, "opened": False, "ms": None, "refused": "share"})
                break
            got = self.flow.open(step, req, answers)
            took = (time.monotonic() - started) * 1000
            samples.append({"record": n, "opened": got.ok, "ms": took})
            if got.ok:
                self.r.facts.opening_ms.append(took)
        data = {
            "build": v,
            "what": "wall-clock time of the whole procedure for one captured message: the "
            "agency's logged request, K trustees' checked and logged answers, the combination "
            f"(each a separate `parley warrant` process; {2 + THRESHOLD} processes per message)",
            "samples": samples,
        }
        if self.r.facts.opening_ms:
            ms = self.r.facts.opening_ms
            text = f"median {statistics.median(ms):.0f} ms per message (n={len(ms)})"
            cell = self.r.evidence.cell("shown", text, f"opening-latency-{v}", data)
        else:
            cell = self.r.evidence.cell("not run", "no single record could be opened", "lat", data)
        self.r.facts.blast["opening"] = cell

    def _blast(self, sides: list[Side]) -> None:
        """What one stolen epoch key and one stolen master key open among all captured records."""
        records = [r for s in sides for r in self.captures.get(s.variant, {}).get("records", [])]
        thief = [r for s in sides for r in self.thief.get(s.variant, [])]
        epochs = Counter(r.get("epoch") for r in thief if r.get("epoch") is not None)
        facts = self.r.facts
        if not epochs:
            reason = "no captured message carries a warrant envelope"
            facts.blast["one stolen epoch key"] = self.r.evidence.cell(
                "refused", f"0 of {len(records)}: {reason}", "blast-epoch", {"thief": thief}
            )
            facts.blast["one stolen master key"] = self.r.evidence.cell(
                "refused", f"0 of {len(records)}: {reason}", "blast-master", {"thief": thief}
            )
            return
        epoch = epochs.most_common(1)[0][0]
        assert epoch is not None
        only = [
            warrant.epoch_only(
                self.flow.authority / f"trustee-{i}.json", epoch, self.work / f"stolen-{i}.json"
            )
            for i in range(1, THRESHOLD + 1)
        ]
        got = self._thief(only, records, "blast")
        opened = sum(1 for r in got if r["opened"])
        bare = sum(1 for r in thief if r.get("epoch") is None)
        seconds = time.time() - self.r.facts.started
        data = {"epoch": epoch, "records": len(records), "results": got}
        text = (
            f"{opened} of {len(records)} captured messages (epoch {epoch}; {bare} carry no "
            f"envelope; this run lasted {seconds:.0f} s of a {warrant.EPOCH_DAYS:g}-day epoch, so "
            "one epoch key is all of it)"
        )
        facts.blast["one stolen epoch key"] = self.r.evidence.cell(
            "opened", text, "blast-epoch", data
        )
        every = [self.flow.authority / f"trustee-{i}.json" for i in range(1, THRESHOLD + 1)]
        got = self._thief(every, records, "blast")
        opened = sum(1 for r in got if r["opened"])
        data = {"epochs": warrant.EPOCHS, "records": len(records), "results": got}
        text = (
            f"{opened} of {len(records)} captured messages: every epoch's shares (there is no "
            "single master key; epoch keys are dealt independently, so this is all of them)"
        )
        facts.blast["one stolen master key"] = self.r.evidence.cell(
            "opened", text, "blast-all", data
        )

    # ---- abuses ----------------------------------------------------------------------------

    def _bypasses(self, sides: list[Side]) -> None:
        facts = self.r.facts
        v = "warrant"
        if v not in self.requests:
            reason = "the warrant build's own request failed, so abuses of it cannot be compared"
            for key in ("out-of-scope request", "unlogged request", "cheating trustee"):
                facts.bypass[key] = not_run(reason)
            return
        std = next((s for s in sides if s.variant == "standard"), None)
        facts.bypass["out-of-scope request"] = self._out_of_scope(std)
        facts.bypass["unlogged request"] = self._unlogged()
        facts.bypass["cheating trustee"] = self._cheater()

    def _out_of_scope(self, std: Side | None) -> Cell:
        """A non-target's traffic under the target's warrant (the other build's capture)."""
        if std is None or "standard" not in self.capture_files:
            return not_run("needs a second capture (the standard build's) to splice in")
        step = "bypass"
        path = self.work / "request-out-of-scope.json"
        asked = self.flow.request(step, self.flow.warrants[liid_of("warrant")],
                                  self.capture_files["standard"], path)  # fmt: skip
        data: dict[str, Any] = {
            "how": "the agency asks to open the standard Bob's captured "
            "records under the warrant naming the warrant build's Bob"
        }
        if not asked.ok:
            data["refused_by"] = "the agency's request tool (logged request refused)"
            return self.r.evidence.cell("refused", asked.sentence, "bypass-out-of-scope", data)
        got = self.flow.share(step, 1, path, self.work / "answer-out-of-scope.json")
        data["refused_by"] = "trustee 1"
        data["result"] = got.sentence
        outcome: Outcome = "opened" if got.ok else "refused"
        text = got.sentence if not got.ok else "a trustee answered for a non-target"
        return self.r.evidence.cell(outcome, text, "bypass-out-of-scope", data)

    def _unlogged(self) -> Cell:
        """A request that never went into the audit log (its id changed after logging)."""
        request = json.loads(self.requests["warrant"].read_text(encoding="utf-8"))
        request["request_id"] = hashlib.sha256(
            b"unlogged " + request["request_id"].encode()
        ).hexdigest()
        request["entry"]["request_id"] = request["request_id"]
        path = self.work / "request-unlogged.json"
        path.write_text(json.dumps(request), encoding="utf-8")
        got = self.flow.share("bypass", 1, path, self.work / "answer-unlogged.json")
        data = {"how": "a copy of a logged request under a new id that the log never saw",
                "result": got.sentence}  # fmt: skip
        text = got.sentence if not got.ok else "a trustee answered an unlogged request"
        return self.r.evidence.cell(
            "opened" if got.ok else "refused", text, "bypass-unlogged", data
        )

    def _cheater(self) -> Cell:
        """Trustee 1 returns a wrong partial point; the agency's proof check must name it."""
        answers = self.answers.get("warrant", [])
        if len(answers) < THRESHOLD:
            return not_run("the trustees did not all answer the warrant build's request")
        step = "bypass"
        extra = self.work / f"answer-warrant-{THRESHOLD + 1}.json"
        if not self.flow.share(step, THRESHOLD + 1, self.requests["warrant"], extra).ok:
            return not_run("a further honest trustee could not answer")
        bad = json.loads(answers[0].read_text(encoding="utf-8"))
        cheat = copy.deepcopy(bad)
        honest = cheat["partials"][0]["d"]
        cheat["partials"][0]["d"] = (
            (honest[:-2] + "00") if not honest.endswith("00") else (honest[:-2] + "01")
        )
        path = self.work / "answer-cheating.json"
        path.write_text(json.dumps(cheat), encoding="utf-8")
        got = self.flow.open(step, self.requests["warrant"], [path, *answers[1:], extra])
        data: dict[str, Any] = {
            "how": "trustee 1's first partial point D_1 altered; the agency "
            "combines it with the honest answers",
            "result": got.sentence,
        }
        if got.ok:
            opened = json.loads(got.stdout)
            data["cheaters"] = opened.get("cheaters")
            named = "; ".join(opened.get("cheaters", {}).values())
            if named:
                text = f"caught by its proof ({named}); opened with the {THRESHOLD} honest answers"
                return self.r.evidence.cell("refused", text, "bypass-cheating-trustee", data)
            return self.r.evidence.cell(
                "opened", "the altered answer went unnoticed", "bypass-cheat", data
            )
        return self.r.evidence.cell("refused", got.sentence, "bypass-cheating-trustee", data)

    def _audit(self) -> None:
        step = "audit"
        flow = self.flow
        args: list[str | Path] = [
            "log",
            "verify",
            "--log",
            flow.audit,
            "--authority",
            flow.authority,
        ]
        if self.head0 is not None:
            args += ["--since", self.head0]
        got = flow.run(step, *args, refusable=True)
        shown = flow.run(step, "log", "show", "--log", flow.audit, refusable=True)
        kinds = Counter(line.split()[1] for line in shown.stdout.splitlines() if line.split()[1:])
        data = {"verify": got.stdout.strip() or got.sentence, "entries_by_kind": dict(kinds),
                "log_show": shown.stdout}  # fmt: skip
        entries = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        text = f"{got.sentence}; entries: {entries}" if got.ok else got.sentence
        outcome: Outcome = "shown" if got.ok else "refused"
        self.r.facts.audit = self.r.evidence.cell(outcome, text, "audit-log-verify", data)


def not_available(reason: str) -> NotRun:
    return NotRun(reason)
