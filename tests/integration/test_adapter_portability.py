"""Adapters that load anywhere (issue 15, item 3): a downloaded adapter names its base model by its
Hugging Face id, carries a filled model card (one of its signed files), and loads with peft's
`AutoPeftModelForCausalLM` in a process that knows nothing of ftgate, offline, its base resolved from a
local Hugging Face cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from ftgate_testing import Home, approved_dataset

UPSTREAM = "ftgate-test/tiny-llama"
REVISION = "0123456789abcdef0123456789abcdef01234567"


def test_a_downloaded_adapter_loads_with_peft_offline(
    home: Home, policy_dir: Path, tiny_model: object, tmp_path: Path
) -> None:
    # The admin registers the base with its Hugging Face id; compliance lets the team train on it.
    data_file = policy_dir / "ftgate" / "config" / "data.json"
    data = json.loads(data_file.read_text())
    data["teams"]["default"]["base_models"].append("tiny-hub")
    data_file.write_text(json.dumps(data, indent=2))
    model_path = tiny_model.path  # type: ignore[attr-defined]
    entry = home.cli("models", "add", "tiny-hub", str(model_path), "--upstream", UPSTREAM, token=home.admin)
    assert entry["upstream"] == UPSTREAM
    bad = home.cli(
        "models", "add", "x", str(model_path), "--upstream", "not a hub id", token=home.admin, ok=False
    )
    assert bad["error"]["code"] == "invalid_input"

    ds = approved_dataset(home)
    home.cli(
        "jobs", "submit", "--dataset", ds["id"], "--base-model", "tiny-hub", "--max-steps", "1",
        "--max-seq-len", "64", token=home.alice,
    )  # fmt: skip
    [job] = home.cli("worker", "--once", token=home.admin)["data"]
    assert job["status"] == "succeeded", job
    adapter_id = job["adapter_id"]
    home.cli("adapters", "release", adapter_id, "--note", "evaluated", token=home.bob)
    folder = tmp_path / "adapter"
    home.cli("adapters", "download", adapter_id, "-o", str(folder), token=home.alice)

    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == UPSTREAM
    card = (folder / "README.md").read_text()
    assert "More Information Needed" not in card
    front = yaml.safe_load(card.split("---\n")[1])
    assert front["base_model"] == UPSTREAM and front["library_name"] == "peft"
    assert front["ftgate"]["base_model"] == "tiny-hub"
    assert front["ftgate"]["base_weights_sha256"] == entry["weights_sha256"]
    assert (
        front["ftgate"]["dataset_redacted_sha256"]
        == home.cli("datasets", "show", ds["id"], token=home.bob)["redacted_sha256"]
    )
    assert len(front["ftgate"]["policy_bundle_sha256"]) == 64
    assert "eval loss after" in card and "model_signing verify key" in card
    adapter = home.cli("adapters", "show", adapter_id, token=home.alice)
    assert "README.md" in adapter["files"]  # the card is signed with the rest

    # Outside ftgate: a Hugging Face cache holding the base under its id, no network.
    snapshot = tmp_path / "hub" / f"models--{UPSTREAM.replace('/', '--')}" / "snapshots" / REVISION
    shutil.copytree(model_path, snapshot)
    refs = tmp_path / "hub" / f"models--{UPSTREAM.replace('/', '--')}" / "refs"
    refs.mkdir()
    (refs / "main").write_text(REVISION)
    script = (
        "import sys, torch\n"
        "from peft import AutoPeftModelForCausalLM\n"
        "model = AutoPeftModelForCausalLM.from_pretrained(sys.argv[1])\n"
        "assert type(model).__name__ == 'PeftModelForCausalLM', type(model)\n"
        "print(tuple(model(torch.tensor([[1, 2, 3]])).logits.shape))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FTGATE_", "HF_"))} | {
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_CACHE": str(tmp_path / "hub"),
        "PYTHONPATH": "",
    }
    loaded = subprocess.run(
        [sys.executable, "-c", script, str(folder)], capture_output=True, text=True, env=env, timeout=300,
        cwd=tmp_path,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert loaded.stdout.strip().startswith("(1, 3,")
