"""The adapter's model card (`README.md`): what the Hugging Face tools show, filled from what ftgate knows.

peft writes a template ("[More Information Needed]") beside every adapter; ftgate replaces it before the
adapter's files are hashed and signed, so the card is one of the signed files. Its YAML front matter is
the Hub's model-card metadata (`base_model`, `library_name`, `license`, `tags`, plus an `ftgate` block:
the catalog name and weights digest of the base, the dataset's redacted digest, the policy bundle and
redaction config that admitted it); its body says how the adapter was made and how to check it. Nothing
in it is free text a user wrote: no dataset name or note, only ids, digests, settings and figures.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

CARD_FILE = "README.md"


def model_card(
    *,
    adapter_id: str,
    job_id: str,
    base: dict[str, Any],
    dataset: dict[str, Any],
    policy_bundle_sha256: str,
    config: dict[str, Any],
    metrics: dict[str, Any],
) -> str:
    """The card's text. `base`: name, upstream, weights_sha256; `dataset`: id, redacted_sha256, licence,
    redaction_config_sha256, records."""
    upstream = base.get("upstream")
    front = {
        "base_model": upstream or base["name"],
        "library_name": "peft",
        "license": _hub_licence(dataset.get("licence")),
        "tags": ["lora", "peft", "ftgate"],
        "ftgate": {
            "adapter_id": adapter_id,
            "job_id": job_id,
            "base_model": base["name"],
            "base_weights_sha256": base["weights_sha256"],
            "dataset_id": dataset["id"],
            "dataset_redacted_sha256": dataset["redacted_sha256"],
            "redaction_config_sha256": dataset.get("redaction_config_sha256") or None,
            "policy_bundle_sha256": policy_bundle_sha256,
        },
    }
    lora = {k: config[k] for k in ("r", "lora_alpha", "lora_dropout", "target_modules") if k in config}
    training = {k: v for k, v in config.items() if k not in lora}
    rows = [
        ("eval loss before", metrics.get("eval_loss_before")),
        ("eval loss after", metrics.get("eval_loss_after")),
        ("train loss, first step", metrics.get("loss_first")),
        ("train loss, last step", metrics.get("loss_last")),
        ("steps", metrics.get("steps")),
        ("tokens seen", metrics.get("tokens")),
    ]
    figures = "\n".join(f"| {name} | {_figure(value)} |" for name, value in rows if value is not None)
    base_line = f"`{upstream}` (ftgate catalog: `{base['name']}`)" if upstream else f"`{base['name']}`"
    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        f"# LoRA adapter {adapter_id}",
        "",
        f"A LoRA adapter for {base_line}, trained by ftgate (job `{job_id}`) on dataset `{dataset['id']}`"
        f" after its personal data was redacted and the redacted file (SHA-256"
        f" `{dataset['redacted_sha256']}`) was approved.",
        "",
        "## Provenance",
        "",
        f"- Base model: {base_line}, weights SHA-256 `{base['weights_sha256']}`.",
        f"- Dataset: `{dataset['id']}`, {dataset.get('records', '?')} records, licence"
        f" `{dataset.get('licence') or 'unknown'}`; trained on its redacted form only.",
        f"- Redaction config SHA-256: `{dataset.get('redaction_config_sha256') or 'unknown'}`.",
        f"- Policy bundle that admitted the data and the job: `{policy_bundle_sha256}`.",
        "",
        "## Training",
        "",
        f"LoRA: `{json.dumps(lora, sort_keys=True)}`.",
        f"Other settings: `{json.dumps(training, sort_keys=True)}`.",
        "",
        "| figure | value |",
        "|---|---|",
        figures,
        "",
        "## Use",
        "",
        "```python",
        "from peft import AutoPeftModelForCausalLM",
        f'model = AutoPeftModelForCausalLM.from_pretrained("path/to/{adapter_id}")',
        "```",
        "",
        "## Verify",
        "",
        "`model.sig` beside these files is an OpenSSF model-signing bundle over every file here (this card",
        "included). With ftgate's adapter-signing public key (`ftgate keys export --which adapter`, or",
        "`GET /v1/keys`):",
        "",
        "```sh",
        "python -m model_signing verify key --signature model.sig --public_key adapter.pem .",
        "```",
        "",
        f"ftgate's audit log records the whole lineage: `ftgate audit export --adapter {adapter_id}"
        " --format intoto` gives it as a signed in-toto/SLSA provenance, and `ftgate audit proof"
        f" --adapter {adapter_id}` as entries with inclusion proofs.",
        "",
    ]
    return "\n".join(lines)


def _hub_licence(spdx: str | None) -> str:
    """The Hub's `license` value: an SPDX id in lower case; `other` for an organisation's own licence."""
    if not spdx or spdx.startswith("LicenseRef-"):
        return "other"
    return spdx.lower()


def _figure(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
