"""What `meetguard ... --help` says: a line on every flag, the exit codes and an example.

The parsers are built where their commands live (cli.py, _cli_consent.py,
_cli_vault.py); :func:`finish` walks the finished tree once and adds, for each
command, its epilog (exit codes, one runnable example) and the help of any flag
that has none. A test walks the same tree: no flag without help.
"""

from __future__ import annotations

import argparse

__all__ = ["EXAMPLES", "finish"]

_EXIT = ("exit codes:\n  0  done (guard: released or partly released)\n"
         "  2  bad usage or input: the one-line message says what to fix\n  3  denied (guard)\n"
         "  4  audit chain broken (audit verify)\n  1  internal failure: nothing was released")

EXAMPLES: dict[str, str] = {
    "guard": ("meetguard guard --policy examples/policy.yaml --purpose summarization "
              "--recipient summarizer \\\n    --chat examples/meeting/meeting_saved_chat.txt "
              "--transcript examples/meeting/transcript.vtt --out out/"),
    "batch": "meetguard batch archive/ --policy examples/policy.yaml --purpose summarization --out batch-out/",
    "redact": ("echo 'Mail alice.martin@northwind.example' | meetguard redact --policy examples/policy.yaml "
               "--purpose summarization --recipient summarizer --attendee p-alice"),
    "policy check": "meetguard policy check examples/policy.yaml",
    "audit verify": "meetguard audit verify var/meetguard-audit.jsonl",
    "audit head": "meetguard audit head var/meetguard-audit.jsonl",
    "transcribe": "meetguard transcribe call.flac --out call.vtt",
    "models fetch": "meetguard models fetch base",
    "models prepare": "meetguard models prepare",
    "consent withdraw": ("meetguard consent withdraw --config examples/sidecar.yaml --participant p-alice "
                         "--purpose summarization"),
    "consent recipients": "meetguard consent recipients --participant p-alice --audit var/meetguard-audit.jsonl",
    "consent retry": "meetguard consent retry --config examples/sidecar.yaml",
    "report": "meetguard report out/ --policy examples/policy.yaml --audit var/meetguard-audit.jsonl",
    "reidentify": "meetguard reidentify --vault var/vault --meeting m-1 summary.txt",
    "vault purge": "meetguard vault purge --vault var/vault",
    "serve": "meetguard serve --config examples/sidecar.yaml --port 8080",
    "doctor": "meetguard doctor --config examples/sidecar.yaml",
}

# (command, flag or positional dest) -> help, for flags defined without one.
_HELP: dict[tuple[str, str], str] = {
    ("guard", "--policy"): "the consent policy file (YAML; docs/policy.md)",
    ("guard", "--purpose"): "what the content is for: one of the policy's purposes (e.g. summarization)",
    ("guard", "--chat"): "a chat export (Zoom, Teams, Slack, ...); repeat for several",
    ("guard", "--transcript"): "a transcript (WebVTT, SRT, meetguard JSON, ...); repeat for several",
    ("guard", "--audio"): "the mixed recording (wav, flac, mp3, m4a, ...)",
    ("guard", "--track"): "one participant's own audio track; repeat per participant "
                          "(a refusing participant's track can then be dropped alone)",
    ("guard", "--attendee"): "a participant present in the meeting (the policy's id); repeat",
    ("guard", "--meeting-id"): "the meeting's id, written into the audit record and the vault",
    ("guard", "--recipient"): "who receives the content: one of the purpose's recipients",
    ("guard", "--audit"): "the audit log (default: the policy's audit.path, else ./meetguard-audit.jsonl)",
    ("batch", "--policy"): "the consent policy file (YAML; docs/policy.md)",
    ("batch", "--purpose"): "what the content is for: one of the policy's purposes",
    ("batch", "--recipient"): "who receives the content: one of the purpose's recipients",
    ("batch", "--audit"): "the audit log (default: the policy's audit.path, else ./meetguard-audit.jsonl)",
    ("batch", "--engine"): "local: a process pool on this machine (default); ray: a Ray cluster",
    ("batch", "--whisper-model"): "Whisper model: tiny.en or base (embedded), a path, or a cached name",
    ("policy check", "policy"): "the policy file to validate and summarise",
    ("policy check", "--at"): "show consent as of this instant (ISO 8601 with timezone; default now)",
    ("audit verify", "file"): "the audit log (JSON lines), e.g. the policy's audit.path",
    ("audit head", "file"): "the audit log (JSON lines)",
    ("transcribe", "audio"): "the recording to transcribe",
    ("transcribe", "--whisper-model"): "Whisper model: tiny.en (default) or base (embedded), a path, or a cached name",
    ("models fetch", "name"): "the model's name (e.g. base)",
    ("consent withdraw", "--config"): "the sidecar config (its policy is edited, its upstreams asked to erase)",
    ("consent withdraw", "--participant"): "the participant's id in the policy",
    ("consent withdraw", "--purpose"): "the purpose consent is withdrawn from",
    ("consent recipients", "--participant"): "the participant's id in the policy",
    ("consent recipients", "--audit"): "read this audit log",
    ("consent recipients", "--config"): "read the audit log this sidecar config names",
    ("consent recipients", "--json"): "print JSON instead of a table",
    ("consent retry", "--config"): "the sidecar config",
    ("report", "out_dir"): "a guard output folder (it holds decision.json)",
    ("reidentify", "--vault"): "the vault folder given to guard --vault",
    ("reidentify", "--vault-key-env"): "variable holding the base64 of the vault's 32-byte master key",
    ("reidentify", "file"): "the text to restore (an AI summary); - reads stdin",
    ("vault purge", "--vault"): "the vault folder",
    ("serve", "--config"): "the sidecar config (YAML; docs/deploy.md); default: MEETGUARD_* variables only",
    ("serve", "--host"): "listen on this address (overrides listen.host)",
    ("serve", "--port"): "listen on this port (overrides listen.port); pick another when it is in use",
}


def _commands(parser: argparse.ArgumentParser, path: str = "") -> list[tuple[str, argparse.ArgumentParser]]:
    found: list[tuple[str, argparse.ArgumentParser]] = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, f"{path} {name}".strip())
    return found


def finish(parser: argparse.ArgumentParser, version: str) -> argparse.ArgumentParser:
    """Add ``--version``, and to every command its epilog and the missing flag help."""
    parser.add_argument("--version", action="version", version=f"meetguard {version}",
                        help="print the version and exit")
    for path, sub in _commands(parser):
        if not path:
            continue
        for action in sub._actions:
            key = action.option_strings[-1] if action.option_strings else action.dest
            if not action.help and (path, key) in _HELP:
                action.help = _HELP[(path, key)]
        if path in EXAMPLES:
            sub.formatter_class = argparse.RawDescriptionHelpFormatter
            sub.epilog = f"{_EXIT}\n\nexample:\n  {EXAMPLES[path]}"
    return parser
