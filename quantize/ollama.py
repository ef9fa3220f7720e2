"""``ecomlm export ollama MODEL --out DIR``: a folder that ``ollama create NAME -f DIR/Modelfile``
accepts: the GGUF (and the GGUF LoRA adapter of ``default``, which Ollama applies with ``ADAPTER``),
and a Modelfile whose ``TEMPLATE`` renders exactly the prompt ecomlm's runtime sends.

The template is ChatML, the chat format of SmolLM2; the export renders a sample task through the
model's own chat template and through the Modelfile's template, and refuses (naming the problem) when
they differ, so a model with another chat format is never exported with a wrong template. ``SYSTEM``
is the chat template's own default system prompt (what the model sees when a conversation has none);
ecomlm's tasks put the task description there (``ecomlm prompt TASK --messages`` prints both turns).
Ollama decodes freely: the label sets, typed lines and copied spans that ecomlm's runtime enforces
while decoding are not enforced there.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, Optional

from ecomlm.runtime import catalog
from ecomlm.runtime.atomic_io import atomic_dir
from ecomlm.runtime.errors import InvalidInputError, ModelLoadError
from ecomlm.runtime.model_ref import resolve

START, END = "<|im_start|>", "<|im_end|>"
TEMPLATE = (f"{{{{ if .System }}}}{START}system\n{{{{ .System }}}}{END}\n{{{{ end }}}}"
            f"{{{{ if .Prompt }}}}{START}user\n{{{{ .Prompt }}}}{END}\n{{{{ end }}}}"
            f"{START}assistant\n{{{{ .Response }}}}{END}\n")
STOPS = (END, START)
#: a sample task whose prompt must render identically through both templates
SAMPLE = ("sentiment", {"text": "Broke after a week, waste of money.",
                        "labels": ["positive", "negative", "neutral"]})


def render_template(template: str, system: str = "", prompt: str = "", response: str = "") -> str:
    """Render the subset of Go's text/template an Ollama TEMPLATE of this module uses:
    ``{{ .System }}``, ``{{ .Prompt }}``, ``{{ .Response }}`` and un-nested
    ``{{ if .X }}...{{ end }}``. The prompt Ollama sends is the rendering cut at ``{{ .Response }}``."""
    values = {"System": system, "Prompt": prompt, "Response": response}

    def cond(m: re.Match[str]) -> str:
        return m.group(2) if values[m.group(1)] else ""
    text = re.sub(r"\{\{ if \.(\w+) \}\}(.*?)\{\{ end \}\}", cond, template, flags=re.S)
    return re.sub(r"\{\{ \.(\w+) \}\}", lambda m: values[m.group(1)], text)


def ollama_prompt(template: str, system: str, prompt: str) -> str:
    """What Ollama sends to the model for one user turn: the template cut at the response."""
    cut = template.index("{{ .Response }}")
    return render_template(template[:cut], system, prompt)


def default_system(model: Any) -> str:
    """The chat template's default system prompt (empty when it adds none)."""
    probe = "ecomlm-probe-4f1c"
    rendered = model.backend.chat_prompt([{"role": "user", "content": probe}])
    head = f"{START}system\n"
    if not rendered.startswith(head):
        return ""
    return rendered[len(head):rendered.index(END)]


def check_template(model: Any, template: str = TEMPLATE) -> None:
    """Raise ``ModelLoadError`` unless ``template`` renders the sample task's prompt exactly as the
    model's chat template does (and the default-system conversation too)."""
    task = catalog.get_task(SAMPLE[0])
    fields = catalog.normalize_fields(task, SAMPLE[1])
    system, user = (m["content"] for m in catalog.build_messages(task, fields))
    ours = model.prompt_for(task, fields)
    theirs = ollama_prompt(template, system, user)
    plain = model.backend.chat_prompt([{"role": "user", "content": "Hello"}])
    if ours != theirs or plain != ollama_prompt(template, default_system(model), "Hello"):
        raise ModelLoadError(
            f"the model's chat template is not ChatML, so the Modelfile's template would send other "
            f"prompts than ecomlm does (ecomlm: {ours[:60]!r}..., Modelfile: {theirs[:60]!r}...); "
            f"only ChatML models (like the bundled SmolLM2) can be exported for Ollama")


def modelfile(ref: str, has_adapter: bool, system: str, n_ctx: int = 4096) -> str:
    """The Modelfile text (paths relative to its folder, as ``ollama create -f`` reads them)."""
    lines = [f"# ecomlm export of {ref!r} for Ollama: ollama create ecomlm -f Modelfile",
             "# Prompts: `ecomlm prompt TASK --text ... --messages` prints a task's system and user "
             "turns.",
             "# Ollama decodes freely: ecomlm's guarantees (labels from the set, spans copied from "
             "the input) hold only in ecomlm's runtime.",
             "FROM ./model.gguf"]
    if has_adapter:
        lines.append("ADAPTER ./adapter.gguf")
    lines.append(f'TEMPLATE """{TEMPLATE}"""')
    if system:
        lines.append(f'SYSTEM """{system}"""')
    lines += [f'PARAMETER stop "{s}"' for s in STOPS]
    lines += ["PARAMETER temperature 0", f"PARAMETER num_ctx {n_ctx}"]
    return "\n".join(lines) + "\n"


def export_ollama(ref: str, out: str | os.PathLike[str], *, force: bool = False,
                  model: Optional[Any] = None) -> Path:
    """Write ``out``: model.gguf, adapter.gguf (``default``) and the Modelfile, atomically; the
    template is checked against the model's own (``check_template``) first."""
    resolved = resolve(ref)
    if resolved.kind != "gguf":
        raise InvalidInputError(
            f"{ref!r} is a{'n ONNX' if resolved.kind == 'onnx' else ' Hugging Face'} model; Ollama "
            f"reads GGUF: run `ecomlm export gguf {ref} --out DIR` first, then `ecomlm export ollama "
            f"DIR/FILE.gguf --out ...`")
    target = Path(out)
    if target.exists() and not force:
        raise InvalidInputError(f"{str(target)!r} exists; pass --force to replace it")
    from ecomlm.runtime import EcomModel
    owned = model is None
    model = model or EcomModel.load(ref, n_ctx=1024)
    try:
        check_template(model)
        system = default_system(model)
    finally:
        if owned:
            model.close()
    with atomic_dir(target) as tmp:
        shutil.copyfile(resolved.path, tmp / "model.gguf")
        if resolved.adapter is not None:
            shutil.copyfile(resolved.adapter, tmp / "adapter.gguf")
        (tmp / "Modelfile").write_text(modelfile(str(ref), resolved.adapter is not None, system),
                                       encoding="utf-8")
    return target


__all__ = ["STOPS", "TEMPLATE", "check_template", "default_system", "export_ollama", "modelfile",
           "ollama_prompt", "render_template"]
