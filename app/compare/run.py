"""One comparison run, phase by phase; returns the facts the report is written from.

The phases: wheels (build or take both), install (a clean venv each), relay (one real relay, with
``--lawful-intercept`` where the relay's install has it), accounts (Alice and Bob on each build),
warrant (the authority's HI1 activation, the same warrant for both builds), conversation (the
same script on both), mixed (a standard user and a warrant user), theft (a device stolen after
the conversation), opening, bypass and audit (the warrant procedure and its abuses). A phase whose
tools are missing records "not run" with the reason; a phase that fails raises StepFailed.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parley.app.compare import relay_view, scenario, warrant, wheels
from parley.app.compare.evidence import Cell, Evidence, Outcome, not_run
from parley.app.compare.lawful import Lawful
from parley.app.compare.procs import AgentProc, Relay
from parley.app.compare.progress import Progress
from parley.app.compare.scenario import Side
from parley.app.compare.steps import NotRun, StepFailed, run_logged

VARIANTS = ("standard", "warrant")
PARTIES = (
    "sender",
    "recipient",
    "relay operator",
    "one trustee",
    "K-1 trustees",
    "K trustees with a logged, in-scope warrant",
    "K trustees without a warrant",
    "whoever stole all K shares",
    "whoever steals a device later",
)


@dataclass
class Options:
    out: Path  # the temporary folder the report is written into
    work: Path  # venvs, profiles, relay data: deleted after the run
    messages: int
    standard: Path | None
    warrant: Path | None
    authority: Path | None
    wheelhouse: Path
    repo: Path | None


@dataclass
class Facts:
    """Everything the report says, each with its evidence."""

    started: float = field(default_factory=time.time)
    finished: float = 0.0
    commit: str = "unknown"
    wheels: dict[str, wheels.WheelInfo | NotRun] = field(default_factory=dict)
    build_settings: dict[str, dict[str, str]] = field(default_factory=dict)
    sides: dict[str, Side | NotRun] = field(default_factory=dict)
    matrix: dict[str, dict[str, Cell]] = field(default_factory=dict)  # party -> variant -> cell
    relay_saw: dict[str, Any] = field(default_factory=dict)
    interop: dict[str, Cell] = field(default_factory=dict)
    bypass: dict[str, Cell] = field(default_factory=dict)
    audit: Cell = field(default_factory=lambda: not_run("not reached"))
    capture: dict[str, Any] = field(default_factory=dict)  # variant -> volume Cell, and data
    opening_ms: list[float] = field(default_factory=list)
    blast: dict[str, Cell] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    tools: warrant.Tools | None = None
    relay_url: str = ""
    phase_seconds: dict[str, float] = field(default_factory=dict)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 (fixed arguments)
        ["git", "-C", str(repo), *args],  # noqa: S607 (git from PATH, as a developer runs it)
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return done.stdout.strip()


def _commit(repo: Path | None) -> str:
    if repo is None:
        return "unknown (not run from a checkout)"
    try:
        head = _git(repo, "rev-parse", "HEAD")
        dirty = _git(repo, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown (git failed)"
    return head + (" (with uncommitted changes)" if dirty else "")


class Runner:
    """Runs the phases in order; ``facts`` fills up as it goes."""

    def __init__(self, options: Options, progress: Progress) -> None:
        self.o = options
        self.progress = progress
        self.facts = Facts()
        self.logs = options.out / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.evidence = Evidence(options.out)
        self.relay: Relay | None = None
        self.agents: list[AgentProc] = []
        self.lawful: Lawful | None = None
        self.lawful_missing = "not reached"
        self.authority: Path | None = options.authority

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    # ---- the phases ------------------------------------------------------------------------

    def run(self) -> Facts:
        try:
            self._phases()
        finally:
            self.close()
        self.facts.finished = time.time()
        return self.facts

    def _timed(self, name: str, fn: Any) -> None:
        started = time.monotonic()
        fn()
        self.facts.phase_seconds[name] = time.monotonic() - started

    def _phases(self) -> None:
        f = self.facts
        f.commit = _commit(self.o.repo)
        f.environment = {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": str(os.cpu_count()),
            "messages per build": str(self.o.messages),
        }
        self._timed("wheels", self.phase_wheels)
        self._timed("install", self.phase_install)
        self._timed("relay", self.phase_relay)
        self._timed("accounts", self.phase_accounts)
        self._timed("warrant", self.phase_activate)
        self._timed("conversation", self.phase_conversation)
        self._timed("mixed", self.phase_mixed)
        self._timed("theft", self.phase_theft)
        self._timed("opening", self.phase_opening)
        self._timed("bypass", self.phase_envelopes)
        self.phase_warrant()
        self.phase_readers()
        self.progress.end()

    def phase_wheels(self) -> None:
        phase = self.progress.phase("wheels", 3)
        step = "wheels"
        tools_python = [sys.executable, "-m", "parley"]
        cwd = self.o.repo or self.o.work
        tools = self.facts.tools = warrant.probe(tools_python, cwd)
        if self.authority is None and self.o.warrant is not None:
            self.lawful_missing = "a --warrant wheel was given without its --authority folder"
        elif self.authority is None and tools.missing is not None:
            self.lawful_missing = tools.missing.reason
        elif self.authority is None:
            self.authority = warrant.init_authority(
                tools, self.o.work / "authority", step, self.log("authority"), cwd
            )
        for variant, given in (("standard", self.o.standard), ("warrant", self.o.warrant)):
            log = self.log(f"build-{variant}")
            if given is not None:
                path = given
                how = "given on the command line"
            else:
                built = self._build(variant, log, step)
                if isinstance(built, NotRun):
                    self.facts.wheels[variant] = built
                    phase.advance()
                    continue
                path, how = built
            info = wheels.inspect_wheel(path, variant, step, log)
            self.facts.wheels[variant] = info
            self.facts.build_settings[variant] = {
                "how": how,
                **({"policy": "strict"} if variant == "warrant" and given is None else {}),
                "SOURCE_DATE_EPOCH": self._source_date_epoch() if given is None else "unknown",
            }
            phase.advance(detail=variant)
        self._build_transitional(step)

    def _build_transitional(self, step: str) -> None:
        """The warrant build once more, with the other mixed-traffic policy (for interop only)."""
        war = self.facts.wheels.get("warrant")
        if self.o.warrant is not None or self.o.repo is None:
            reason = "built only from a source checkout (the policy is compiled in)"
            self.facts.wheels[TRANSITIONAL] = NotRun(reason)
            return
        if not isinstance(war, wheels.WheelInfo):
            self.facts.wheels[TRANSITIONAL] = NotRun(war.reason if war else "no warrant build")
            return
        log = self.log(f"build-{TRANSITIONAL}")
        path = wheels.build_wheel(
            self.o.repo,
            "warrant",
            self.o.work / f"dist-{TRANSITIONAL}",
            step,
            log,
            authority=self.authority,
            policy="transitional",
        )
        self.facts.wheels[TRANSITIONAL] = wheels.inspect_wheel(path, TRANSITIONAL, step, log)
        self.facts.build_settings[TRANSITIONAL] = {
            "how": "packaging/build.sh --variant warrant --policy transitional",
            "policy": "transitional",
        }

    def _source_date_epoch(self) -> str:
        """What packaging/build.sh uses: the variable, else the last commit's time."""
        if "SOURCE_DATE_EPOCH" in os.environ:
            return os.environ["SOURCE_DATE_EPOCH"]
        if self.o.repo is None:
            return "unknown"
        try:
            return _git(self.o.repo, "log", "-1", "--format=%ct") + " (last commit's time)"
        except (OSError, subprocess.SubprocessError):
            return "unknown"

    def _build(self, variant: str, log: Path, step: str) -> tuple[Path, str] | NotRun:
        repo = self.o.repo
        if repo is None:
            return NotRun(f"no {variant} wheel given and no source checkout to build one from")
        script = repo / "packaging" / "build.sh"
        supports_variant = "--variant" in script.read_text(encoding="utf-8")
        out = self.o.work / f"dist-{variant}"
        if supports_variant:
            if variant == "warrant" and self.authority is None:
                return NotRun(f"no warrant authority to build with: {self.lawful_missing}")
            authority = self.authority if variant == "warrant" else None
            path = wheels.build_wheel(repo, variant, out, step, log, authority=authority)
            return path, f"packaging/build.sh --variant {variant}"
        if variant == "warrant":
            return NotRun("packaging/build.sh has no --variant yet (issue 9 not landed)")
        # The build script before variants existed: the same pip command it runs.
        out.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
        run_logged([*command, "-q", "-w", str(out), str(repo)], step, log, timeout=600, cwd=repo)
        found = sorted(out.glob("parley-*.whl"))
        if len(found) != 1:
            raise StepFailed(step, log, f"the build left {len(found)} wheels, not one")
        return found[0], "pip wheel --no-deps (packaging/build.sh has no --variant yet)"

    def phase_install(self) -> None:
        phase = self.progress.phase("install", 4)
        wheels.ensure_wheelhouse(self.o.wheelhouse)
        phase.advance(detail="wheelhouse")
        for variant in (*VARIANTS, TRANSITIONAL):
            info = self.facts.wheels[variant]
            if isinstance(info, NotRun):
                self.facts.sides[variant] = info
                phase.advance()
                continue
            where = self.o.work / f"venv-{variant}"
            log = self.log(f"install-{variant}")
            program = wheels.make_venv(info, where, self.o.wheelhouse, "install", log)
            python = program.parent / "python"
            done = run_logged([str(program), "--help"], "install", log, timeout=60, cwd=self.o.work)
            del done
            self.facts.sides[variant] = Side(variant, python, program)
            installed = sorted(
                p.name.removesuffix(".dist-info")
                for p in where.glob("lib/*/site-packages/*.dist-info")
            )
            self.facts.build_settings.setdefault(variant, {})["installed"] = ", ".join(installed)
            phase.advance(detail=variant)

    def _side(self, variant: str) -> Side | None:
        side = self.facts.sides.get(variant)
        return side if isinstance(side, Side) else None

    def phase_relay(self) -> None:
        phase = self.progress.phase("relay", 1)
        side = self._side("warrant") or self._side("standard")
        if side is None:
            raise StepFailed("relay", self.log("relay"), "no build could be installed")
        extra: list[str] = ["--commit-delay-ms", "0"]  # every message stored: the capture sees all
        war = self._side("warrant")
        if war is None:
            missing = self.facts.sides.get("warrant")
            self.lawful_missing = missing.reason if isinstance(missing, NotRun) else "no build"
        elif self.authority is None:
            pass  # lawful_missing says why
        elif not warrant.relay_has_capture(war.program, self.o.work):
            self.lawful_missing = "the relay has no --lawful-intercept option (issue 10)"
        else:
            extra += ["--lawful-intercept", str(self.authority / "authority.json")]
            flow = warrant.Flow(
                tool=[str(war.program), "warrant"],
                authority=self.authority,
                audit=self.o.work / "audit-log",
                work=self.o.work / "lawful",
                log=self.log("warrant-tools"),
                cwd=self.o.work,
            )
            flow.work.mkdir(parents=True, exist_ok=True)
            self.lawful = Lawful(self, flow, war.python)
        self.relay = Relay(side.program, self.o.work / "relay", self.log("relay"), extra)
        self.facts.relay_url = self.relay.url
        self.facts.environment["relay run from"] = f"the {side.variant} install"
        phase.advance()

    def phase_accounts(self) -> None:
        sides = [s for v in VARIANTS if (s := self._side(v)) is not None]
        phase = self.progress.phase("accounts", 2 * len(sides))
        assert self.relay is not None
        for side in sides:
            for name in ("Alice", "Bob"):
                self._new_user(side, name, "accounts")
                phase.advance(detail=f"{side.variant}-{name.lower()}")
            alice, bob = side.users["Alice"], side.users["Bob"]
            alice.call("accounts", "add", invite=side.status["Bob"]["invite"])
            bob.call("accounts", "add", invite=side.status["Alice"]["invite"])

    def _new_user(self, side: Side, name: str, step: str) -> AgentProc:
        """Start a user process of ``side``'s install and create its account on the relay."""
        assert self.relay is not None
        slug = f"{side.variant}-{name.lower()}"
        agent = AgentProc(
            f"{name} ({side.variant})",
            side.python,
            self.o.work / slug,
            self.log(f"user-{slug}"),
            self.relay,
        )
        self.agents.append(agent)
        side.users[name] = agent
        side.status[name] = agent.call(step, "init", name=name, relay=self.relay.url)
        built = side.status[name]["variant"]
        if built != side.variant.split("-")[0]:
            raise StepFailed(
                step, agent.log, f"the {side.variant} wheel says it is the {built} build"
            )
        return agent

    def phase_conversation(self) -> None:
        sides = [s for v in VARIANTS if (s := self._side(v)) is not None]
        phase = self.progress.phase("conversation", self.o.messages * len(sides))
        for side in sides:
            scenario.converse(side, self.o.messages, self.o.work, phase, "conversation")
        for side in sides:
            sent = [
                {k: v for k, v in vars(s).items() if k != "text"} | {"text": s.text}
                for s in side.sent
            ]
            ref = self.evidence.record(
                f"conversation-{side.variant}",
                {
                    "build": side.variant,
                    "messages": sent,
                    "dh_ratchet_turns": side.dh_turns,
                    "signed_prekey_rotation": side.rotation,
                    "note": "frame_bytes: the exact frame the relay received (client's relay "
                    "record); encrypt_ms: send_text/send_picture until committed; stored_ms: "
                    "until the relay confirmed storing it",
                },
            )
            self.facts.relay_saw[side.variant] = {"conversation": ref}
            snap = side.offline_snapshot
            ref_snap = self.evidence.record(
                f"relay-at-rest-{side.variant}",
                {
                    "build": side.variant,
                    "what": "the relay's database while Bob was offline (read-only, as its "
                    "operator could read it); payloads are listed in full",
                    **snap,
                },
            )
            self.facts.relay_saw[side.variant]["at_rest"] = ref_snap

    def phase_mixed(self) -> None:
        std, war = self._side("standard"), self._side("warrant")
        phase = self.progress.phase("mixed", 4)
        for variant in ("warrant", TRANSITIONAL):
            policy = self.facts.build_settings.get(variant, {}).get("policy", "as built")
            war = self._side(variant)
            if std is None or war is None:
                missing = self.facts.sides.get(variant if war is None else "standard")
                reason = missing.reason if isinstance(missing, NotRun) else "a build is missing"
                for key in ("standard -> warrant", "warrant -> standard"):
                    self.facts.interop[f"{key} (policy: {policy})"] = not_run(reason)
                phase.advance(2)
                continue
            if "Bob" not in war.users:  # the transitional build joins for this pair only
                self._new_user(war, "Bob", "mixed")
            self._mixed_pair(std, war, policy, phase)

    def _mixed_pair(self, std: Side, war: Side, policy: str, phase: Any) -> None:
        step = "mixed"
        # The warrant build's Bob rotated his signed prekey: this new session uses the new one.
        a, b = std.users["Alice"], war.users["Bob"]
        bob_name = f"Bob-{war.variant}"
        a.call(step, "add", invite=war.status["Bob"]["invite"], name=bob_name)
        b.call(step, "add", invite=std.status["Alice"]["invite"], name="Alice-s")
        for sender, rside, rname, to, key in (
            (a, war, "Bob", bob_name, "standard -> warrant"),
            (b, std, "Alice", "Alice-s", "warrant -> standard"),
        ):
            text = f"Mixed {key} ({policy}): {scenario.token('mixed', len(key))}"
            slug = f"mixed-{key}-{war.variant}"
            cell = self.exchange(step, sender, rside, rname, to=to, text=text, slug=slug)
            self.facts.interop[f"{key} (policy: {policy})"] = cell
            phase.advance()

    def exchange(
        self,
        step: str,
        sender: AgentProc,
        rside: Side,
        rname: str,
        *,
        to: str,
        text: str,
        slug: str,
    ) -> Cell:
        """One message, and whether the recipient's program accepted it ("delivered") or not."""
        sent = sender.call(step, "send", to=to, text=text)
        answer = rside.users[rname].call(
            step,
            "recv",
            count=1,
            timeout=15,
            since=rside.seen.get(rname, 0),
            errors_since=rside.errors_seen.get(rname, 0),
        )
        rside.seen[rname] = rside.seen.get(rname, 0) + len(answer["messages"])
        rside.errors_seen[rname] = rside.errors_seen.get(rname, 0) + len(answer["errors"])
        got = [m for m in answer["messages"] if m["id"] == sent["id"]]
        data: dict[str, Any] = {"sent": sent, "text": text, "received": answer}
        if got and got[0]["body"] == text:
            return self.evidence.cell("delivered", "read by the recipient", slug, data)
        reason = "; ".join(answer["errors"]) or "nothing arrived in 15 s"
        return self.evidence.cell("rejected", reason, slug, data)

    def phase_envelopes(self) -> None:
        """Modified warrant-build clients against an honest warrant-build recipient."""
        war = self._side("warrant")
        phase = self.progress.phase("bypass", len(ENVELOPE_ATTACKS) + 2)
        if war is None:
            return
        step = "bypass"
        alice, bob = war.users["Alice"], war.users["Bob"]
        try:
            alice.call(step, "modify", mode="none")
        except StepFailed as exc:
            for key in ENVELOPE_ATTACKS:
                self.facts.bypass[f"{key} envelope"] = not_run(exc.reason)
            return
        text = "Control: an honest envelope"
        control = self.exchange(step, alice, war, "Bob", to="Bob", text=text, slug="bypass-control")
        self.facts.bypass["(control) honest envelope"] = control
        phase.advance()
        for mode, text in ENVELOPE_ATTACKS.items():
            alice.call(step, "modify", mode=mode)
            message, slug = f"Modified sender: {text}", f"bypass-{mode}"
            cell = self.exchange(step, alice, war, "Bob", to="Bob", text=message, slug=slug)
            if cell.outcome == "delivered":
                cell = Cell("delivered", f"ACCEPTED by the honest recipient: {text}", cell.evidence)
            self.facts.bypass[f"{mode} envelope"] = cell
            phase.advance()
        # Two colluding modified clients: no envelope sent, none checked. Nothing can stop it.
        alice.call(step, "modify", mode="stripped")
        bob.call(step, "modify", mode="none", permissive=True)
        text = "Colluding clients, no envelope"
        cell = self.exchange(step, alice, war, "Bob", to="Bob", text=text, slug="bypass-colluding")
        if cell.outcome == "delivered":
            text = (
                "delivered with no envelope: undetectable, as stated in the design (Blaze); "
                "no envelope was sent, so no warrant can open that message"
            )
            cell = Cell("delivered", text, cell.evidence)
        self.facts.bypass["two colluding modified clients"] = cell
        alice.call(step, "modify", mode="none")
        bob.call(step, "modify", mode="none", permissive=False)
        phase.advance()

    def phase_theft(self) -> None:
        sides = [s for v in VARIANTS if (s := self._side(v)) is not None]
        phase = self.progress.phase("theft", max(1, len(sides)))
        for side in sides:
            stolen = scenario.steal_device(side, "Bob", self.o.work, "theft")
            assert self.relay is not None
            thief = AgentProc(
                f"thief ({side.variant})",
                side.python,
                stolen,
                self.log(f"thief-{side.variant}"),
                self.relay,
            )
            self.agents.append(thief)
            thief.call("theft", "open", online=False)
            payloads = side.offline_snapshot["payloads_hex"]
            alice = side.status["Alice"]["identity"]
            answer = thief.call("theft", "thief", sender=alice, payloads=payloads)
            history = thief.call("theft", "history", peer="Alice")
            thief.stop()
            results = answer["results"]
            opened = sum(1 for r in results if r["opened"])
            data: dict[str, Any] = {
                "build": side.variant,
                "how": "Bob's profile copied after the conversation and unlocked; it tries to "
                "decrypt the payloads the relay held for him while he was offline (captured "
                "past traffic)",
                "payloads_tried": len(results),
                "results": results,
                "local_history_messages": len(history["messages"]),
            }
            if opened == 0 and results:
                reasons = sorted({r["reason"].split(":")[0] for r in results})
                text = (
                    f"0 of {len(results)} captured past messages opened ({', '.join(reasons)}): "
                    "forward secrecy; the unlocked device's own history "
                    f"({len(history['messages'])}"
                    " messages) is readable"
                )
                cell = self.evidence.cell("refused", text, f"device-theft-{side.variant}", data)
            else:
                text = f"{opened} of {len(results)} captured past messages opened"
                cell = self.evidence.cell("opened", text, f"device-theft-{side.variant}", data)
            self.facts.matrix.setdefault("whoever steals a device later", {})[side.variant] = cell
            phase.advance(detail=side.variant)

    def _lawful_sides(self) -> list[Side]:
        return [s for v in VARIANTS if (s := self._side(v)) is not None]

    def phase_activate(self) -> None:
        phase = self.progress.phase("warrant", 1)
        if self.lawful is not None:
            self.lawful.start(self._lawful_sides())
        phase.advance()

    def phase_opening(self) -> None:
        phase = self.progress.phase("opening", 1)
        if self.lawful is not None:
            self.lawful.finish(self._lawful_sides())
        phase.advance()

    def phase_warrant(self) -> None:
        """Every cell the warrant phases could not fill says why."""
        reason = self.lawful_missing if self.lawful is None else "not reached in this run"
        for party in PARTIES[3:8]:
            for variant in VARIANTS:
                self.facts.matrix.setdefault(party, {}).setdefault(variant, not_run(reason))
        for key in BYPASSES:
            self.facts.bypass.setdefault(key, not_run(reason))
        if self.lawful is None:
            self.facts.audit = not_run(reason)
        for variant in VARIANTS:
            self.facts.capture.setdefault(variant, not_run(reason))
        for key in ("one stolen epoch key", "one stolen master key", "opening"):
            self.facts.blast.setdefault(key, not_run(reason))

    def phase_readers(self) -> None:
        """Sender, recipient and relay operator rows, from what the conversation left."""
        for variant in VARIANTS:
            side = self._side(variant)
            if side is None:
                missing = self.facts.sides[variant]
                reason = missing.reason if isinstance(missing, NotRun) else "not installed"
                for party in PARTIES:
                    self.facts.matrix.setdefault(party, {}).setdefault(variant, not_run(reason))
                continue
            self._readers(side)

    def _readers(self, side: Side) -> None:
        step = "readers"
        ev = self.evidence
        mine = [s for s in side.sent if s.sender == "Alice" and s.kind == "text"]
        history = side.users["Alice"].call(step, "history", peer="Bob")
        bodies = {m["id"]: m["body"] for m in history["messages"]}
        kept = sum(1 for s in mine if bodies.get(s.id) == s.text)
        data: dict[str, Any] = {"build": side.variant, "sent_ids": [s.id for s in mine]}
        data["history"] = history
        outcome: Outcome = "opened" if kept == len(mine) else "refused"
        text = f"{kept} of {len(mine)} of Alice's texts readable in her own history"
        cell = ev.cell(outcome, text, f"sender-{side.variant}", data)
        self.facts.matrix.setdefault("sender", {})[side.variant] = cell
        to_bob = [s for s in side.sent if s.recipient == "Bob"]
        got = sum(1 for s in to_bob if s.received)
        data = {"build": side.variant, "messages": [[s.id, s.kind, s.received] for s in to_bob]}
        text = f"{got} of {len(to_bob)} messages to Bob arrived intact (texts compared exactly)"
        outcome = "opened" if got == len(to_bob) else "refused"
        cell = ev.cell(outcome, text, f"recipient-{side.variant}", data)
        self.facts.matrix.setdefault("recipient", {})[side.variant] = cell
        # The operator: every frame the relay received, and what it kept at rest.
        frames: list[bytes] = []
        for s in side.sent:
            record = side.users[s.sender].call(step, "relay_record", id=s.id)
            frames.append(bytes.fromhex(record["frame_hex"]))
        frames += [bytes.fromhex(p) for p in side.offline_snapshot["payloads_hex"]]
        assert self.relay is not None
        frames.append((self.relay.data / relay_view.DB_NAME).read_bytes())
        needles = [s.text.encode() for s in side.sent if s.kind == "text"]
        needles += [s.text.split("marker ")[1].encode() for s in side.sent if s.kind == "text"]
        found = relay_view.contains_any(frames, needles)
        data = {
            "build": side.variant,
            "searched": f"{len(frames) - 1} frames and payloads plus the relay's database file",
            "plaintexts_searched": len(needles),
            "found": [n.decode() for n in found],
            "relay_holds_keys": "none: the relay stores identity and prekey PUBLIC keys only",
        }
        if found:
            text = f"{len(found)} plaintexts found in what the relay received"
            cell = ev.cell("opened", text, f"relay-operator-{side.variant}", data)
        else:
            text = (
                f"no key; none of {len(needles)} texts or markers appear in the {len(frames) - 1} "
                "frames it received or in its database: metadata only"
            )
            cell = ev.cell("refused", text, f"relay-operator-{side.variant}", data)
        self.facts.matrix.setdefault("relay operator", {})[side.variant] = cell

    def close(self) -> None:
        for agent in self.agents:
            agent.stop()
        self.agents.clear()
        if self.relay is not None:
            self.relay.stop()
            self.relay = None


ENVELOPE_ATTACKS = {
    "stripped": "the envelope removed",
    "random": "random bytes of an envelope's length",
    "copied": "the envelope of the sender's previous message",
    "relabelled": "an envelope sealed for the parties swapped",
    "wrong-epoch": "the envelope's epoch label raised by one",
}
TRANSITIONAL = "warrant-transitional"
BYPASSES = (
    "stripped envelope",
    "random envelope",
    "copied envelope",
    "relabelled envelope",
    "wrong-epoch envelope",
    "two colluding modified clients",
    "out-of-scope request",
    "unlogged request",
    "cheating trustee",
)
