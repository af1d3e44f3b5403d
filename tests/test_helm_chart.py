"""deploy/helm/meetguard, rendered and checked without a helm binary (none comes from
PyPI): the chart uses a small subset of helm's template language, which this test
renders; any other action fails the test, so the chart cannot outgrow the check.
The rendered manifest is then checked: a StatefulSet of N pods, meetguard beside the
AI service, Secrets for tokens, keys and the state DSN, probes, non-root, and a
sidecar.yaml and policy that meetguard itself loads (postgres state)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from meetguard.policy import parse_policy
from meetguard.sidecar.config import load_config

CHART = Path(__file__).resolve().parent.parent / "deploy" / "helm" / "meetguard"
_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")


def _value(path: str, ctx: dict[str, Any]) -> Any:
    node: Any = ctx
    for part in path.lstrip(".").split("."):
        node = node[part]
    return node


def _pipe(expr: str, ctx: dict[str, Any], templates: dict[str, str]) -> str:
    stages = [s.strip() for s in expr.split("|")]
    head, rest = stages[0], stages[1:]
    if head.startswith("toYaml "):
        out = yaml.safe_dump(_value(head[7:], ctx), sort_keys=False).rstrip("\n")
    elif head.startswith("toJson "):
        out = json.dumps(_value(head[7:], ctx))
    elif head.startswith("include "):
        m = re.fullmatch(r'include \(print \$\.Template\.BasePath "/([\w.-]+)"\) \.', head)
        assert m, head
        out = render(templates[m.group(1)], ctx, templates)
    elif head.startswith("."):
        out = str(_value(head, ctx))
    else:
        raise AssertionError(f"template action outside the checked subset: {expr}")
    for stage in rest:
        if stage.startswith("indent "):
            pad = " " * int(stage[7:])
            out = "\n".join(pad + line if line else line for line in out.splitlines())
        elif stage == "sha256sum":
            out = hashlib.sha256(out.encode()).hexdigest()
        else:
            raise AssertionError(f"template function outside the checked subset: {stage}")
    return out


def render(text: str, ctx: dict[str, Any], templates: dict[str, str]) -> str:
    # {{- if X }} ... {{- end }} (no nesting, no else), then every other action in place
    def cond(m: re.Match[str]) -> str:
        return m.group(2) if _value(m.group(1), ctx) else ""
    text = re.sub(r"\n[ \t]*\{\{- if (\.[\w.]+) \}\}(.*?)\n[ \t]*\{\{- end \}\}", cond, text, flags=re.DOTALL)
    return _ACTION.sub(lambda m: _pipe(m.group(1), ctx, templates), text)


@pytest.fixture(scope="module")
def manifest() -> dict[str, dict[str, Any]]:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == "meetguard"
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    templates = {p.name: p.read_text() for p in (CHART / "templates").glob("*.yaml")}
    ctx = {"Values": values, "Release": {"Name": "mg"}, "Chart": chart}
    docs: dict[str, dict[str, Any]] = {}
    for name, text in sorted(templates.items()):
        for doc in yaml.safe_load_all(render(text, ctx, templates)):
            docs[doc["kind"]] = doc
    return docs


def test_the_chart_renders_n_replicas_with_the_sidecar_pattern(manifest: dict[str, dict[str, Any]]) -> None:
    sts = manifest["StatefulSet"]
    assert sts["spec"]["replicas"] == 3
    pod = sts["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    app, mg = pod["containers"]
    assert app["args"] == ["--host", "127.0.0.1", "--port", "9000"]      # loopback only
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                        ("startupProbe", "/healthz")):
        assert mg[probe]["httpGet"] == {"path": path, "port": "http"}
    env = {e["name"]: e["valueFrom"] for e in mg["env"]}
    for var in ("MEETGUARD_STATE_DSN", "MEETGUARD_TOKENS", "MEETGUARD_HASH_KEY",
                "MEETGUARD_UPSTREAMS_LLM_SUMMARIZER_HEADERS_AUTHORIZATION"):
        assert "secretKeyRef" in env[var], var                          # secrets, never values
    assert env["MEETGUARD_STATE_REPLICA"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert mg["securityContext"]["readOnlyRootFilesystem"] is True
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "state"
    assert manifest["Service"]["spec"]["ports"][0]["targetPort"] == "http"


def test_the_rendered_config_and_policy_load_in_meetguard(manifest: dict[str, dict[str, Any]],
                                                         tmp_path: Path) -> None:
    data = manifest["ConfigMap"]["data"]
    (tmp_path / "sidecar.yaml").write_text(data["sidecar.yaml"])
    env = {"MEETGUARD_STATE_DSN": "postgresql://mg:secret@postgres:5432/meetguard",
           "MEETGUARD_TOKENS": "t1"}
    config = load_config(tmp_path / "sidecar.yaml", env)
    assert config.state.backend == "postgres" and config.tokens == ("t1",)
    policy = parse_policy(data["policy.yaml"].encode(), "policy.yaml")
    assert "summarization" in policy.purposes
