"""The method picker partial: rendered standalone, and driven in a real browser on the Model step."""
from __future__ import annotations

import pytest

from tests.browser import csp_violations, wait_js


def render_picker(app) -> str:
    from flask import render_template_string

    with app.test_request_context("/"):
        return render_template_string('{% include "partials/method_picker.html" ignore missing %}')


def test_partial_renders_standalone_without_inline_code(app):
    html = render_picker(app)
    assert 'id="method-picker"' in html and 'data-draft-url="/api/wizard/draft"' in html
    assert '<script type="module" src="/static/js/method_picker.js"></script>' in html
    assert "onclick" not in html and "<script>" not in html


@pytest.mark.browser
@pytest.mark.slow
def test_picker_lists_methods_disables_unsloth_and_saves_the_choice(browser, live_server):
    """On the real Model step: the choice lands in the server-side wizard draft."""
    import torch

    page = browser.new_page()
    violations = csp_violations(page)
    page.goto(live_server.url + "/wizard/model")
    page.evaluate("""() => fetch('/api/wizard/draft', {method: 'PATCH', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({method: 'grpo', model: {name: 'Qwen/Qwen3-8B'}})}).then(r => r.json())""")
    page.reload()
    wait_js(page, "document.querySelector('#method-picker').dataset.ready === '1'")
    names = page.eval_on_selector_all("[data-method]", "nodes => nodes.map(n => n.dataset.method)")
    assert names == ["grpo", "qlora", "unsloth", "standard", "rag"]
    assert page.is_checked("#method-grpo")
    assert "4-bit" in page.text_content("[data-method=qlora] label")  # the one-line description
    if not torch.cuda.is_available():
        assert page.is_disabled("#method-unsloth")
        assert "GPU" in page.text_content("[data-method=unsloth] [data-role=reason]")

    page.check("#method-standard")
    wait_js(page, "document.querySelector('[data-role=saved]').textContent === 'Saved.'")
    draft = page.evaluate("() => fetch('/api/wizard/draft', {credentials: 'same-origin'}).then(r => r.json())")
    assert draft["config"]["method"] == "standard"
    page.wait_for_selector("[data-role=memory]:not([hidden])")
    assert "Qwen3 8B needs about 54 GB" in page.text_content("[data-role=memory]")
    assert violations == []
    page.close()
