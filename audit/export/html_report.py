"""A report a person reads: the chain dataset -> scan -> approvals -> decision -> job -> adapter.

One self-contained file: inline CSS, no scripts, no fonts or images from elsewhere, so it opens the
same offline, in an archive, or attached to a ticket. Every value from the log is HTML-escaped.
"""

from __future__ import annotations

import html
import json
from typing import Any

from audit.export.base import Exporter
from audit.signer import Signer

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1b1f24}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.1rem;margin:0 0 .4rem}
.badge{display:inline-block;padding:.3rem .7rem;border-radius:1rem;font-weight:600}
.ok{background:#dafbe1;color:#116329} .bad{background:#ffebe9;color:#a40e26}
.warn{background:#fff8c5;color:#7d4e00}
ol.chain{list-style:none;padding:0} ol.chain>li{border:1px solid #d0d7de;border-radius:.5rem;
padding:.8rem 1rem;margin:0 0 .3rem} ol.chain>li+li:before{content:"\\2193";display:block;
text-align:center;margin:-.3rem 0 .4rem;color:#57606a}
table{border-collapse:collapse} td,th{text-align:left;padding:.1rem .8rem .1rem 0;vertical-align:top}
code{font:12px ui-monospace,monospace;word-break:break-all}
"""


def _e(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return html.escape(text, quote=True)


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td><code>{_e(v)}</code></td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _step(step: str, title: str, rows: list[tuple[str, Any]]) -> str:
    return f'<li data-step="{_e(step)}"><h2>{_e(title)}</h2>{_table(rows)}</li>'


def report(lineage: dict[str, Any]) -> str:
    """The report as an HTML document."""
    adapter, dataset, scan, policy = (
        lineage["adapter"],
        lineage["dataset"],
        lineage["scan"],
        lineage["policy"],
    )
    training, base, log = lineage["training"], lineage["base_model"], lineage["log"]
    quarantine, signed = lineage.get("quarantine"), lineage.get("model_signature")
    if log.get("verified"):
        badge = (
            f'<span class="badge ok" id="verification">Audit log verified: {log["size"]} entries, '
            f"head <code>{_e(log['head_hash'][:16])}</code></span>"
        )
    else:
        badge = '<span class="badge bad" id="verification">Audit log NOT verified</span>'
    release = lineage.get("release")
    if release and not quarantine:
        badge += (
            ' <span class="badge ok" id="release">Released by '
            f"{_e(release['by'])} at {_e(release['at'])}</span>"
        )
    if quarantine:
        badge += (
            ' <span class="badge warn" id="quarantine">Quarantined: dataset revoked by '
            f"{_e(quarantine['by'])} at {_e(quarantine['at'])}</span>"
        )
    steps = [
        _step(
            "dataset",
            f"Dataset {dataset['name']}",
            [
                ("id", dataset["dataset_id"]),
                ("team / uploader", f"{dataset['team']} / {dataset['uploader']}"),
                ("purpose / classification", f"{dataset['purpose']} / {dataset['classification']}"),
                ("records", dataset["records"]),
                ("raw sha256 (discarded)", dataset["raw_sha256"]),
            ],
        ),
        _step(
            "scan",
            "PII scan and redaction",
            [
                ("entities found", scan.get("entities", {})),
                ("records changed", scan.get("records_changed")),
                ("residual findings", scan.get("residual_findings")),
                ("redacted sha256", dataset["redacted_sha256"]),
                ("admission", f"allow={policy['admission']['allow']} ({policy['admission']['decision_id']})"),
            ],
        ),
        *[
            _step(
                "approval",
                f"Review by {a['approver']}: {a['verdict']}",
                [("note", a["note"]), ("bound to sha256", a["redacted_sha256"]), ("at", a["at"])],
            )
            for a in lineage["approvals"]
        ],
        _step(
            "decision",
            "Training policy decision",
            [
                ("decision", policy["training"]["decision_id"]),
                ("allow", policy["training"]["allow"]),
                ("policy bundle sha256", policy["training"]["bundle_sha256"]),
                ("engine", policy["training"]["engine"]),
                ("re-checked before training", policy["pre_training_check"]["allow"]),
            ],
        ),
        _step(
            "job",
            f"Training job {training['job_id']}",
            [
                ("submitter", training["submitter"]),
                ("worker", training["worker"]),
                ("started", training["started_at"]),
                ("trained on sha256", training["trained_on_sha256"]),
                ("base model", f"{base['name']} ({base['verified_weights_sha256']})"),
                ("config", training["config"]),
            ],
        ),
        _step(
            "adapter",
            f"Adapter {adapter['id']}",
            [
                ("registered", adapter["registered_at"]),
                ("manifest sha256", adapter["manifest_sha256"]),
                *[(f"file {name}", sha) for name, sha in sorted(adapter["files"].items())],
                ("metrics", adapter.get("metrics")),
                (
                    "model-signing signature",
                    f"{signed['library']}, signed {signed['signed_at']}" if signed else "none recorded",
                ),
            ],
        ),
    ]
    entries = "".join(
        f"<tr><td>{e['seq']}</td><td>{_e(e['time'])}</td><td>{_e(e['actor'])}</td>"
        f"<td>{_e(e['action'])}</td><td><code>{_e(e['entry_hash'])}</code></td></tr>"
        for e in log["entries"]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Lineage of adapter {_e(adapter['id'])}</title><style>{_CSS}</style></head><body>"
        f"<h1>Lineage of adapter <code>{_e(adapter['id'])}</code></h1>"
        f"<p>{badge}</p><p>Generated {_e(lineage['generated_at'])} from the audit log alone.</p>"
        f'<ol class="chain">{"".join(steps)}</ol>'
        "<h2>Log entries this lineage rests on</h2><table><tr><th>seq</th><th>time</th><th>actor</th>"
        f"<th>action</th><th>entry hash</th></tr>{entries}</table></body></html>\n"
    )


class HtmlExporter(Exporter):
    media_type = "text/html"

    @classmethod
    def name(cls) -> str:
        return "html"

    def export(self, lineage: dict[str, Any], *, key: Signer | None = None) -> bytes:
        return report(lineage).encode()
