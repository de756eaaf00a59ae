"""The method picker partial: rendered standalone, and driven in a real browser against a live server (the
wizard-draft API belongs to another issue, so the browser's PATCH is answered by a route stub here)."""
from __future__ import annotations

import json

import pytest


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
def test_picker_lists_methods_disables_unsloth_and_saves_the_choice(app, browser, live_server):
    import torch

    page_html = f"<!doctype html><html><body>{render_picker(app)}</body></html>"
    patches: list[dict] = []

    def fake_page(route):
        route.fulfill(status=200, content_type="text/html", body=page_html)

    def draft(route):
        if route.request.method == "PATCH":
            patches.append(json.loads(route.request.post_data))
            route.fulfill(status=200, content_type="application/json", body=json.dumps({"method": patches[-1]["method"]}))
        else:
            route.fulfill(status=200, content_type="application/json",
                          body=json.dumps({"config": {"method": "grpo", "model": {"name": "Qwen/Qwen3-8B"}}}))

    page = browser.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: console.append(str(error)))
    page.route("**/picker-harness", fake_page)
    page.route("**/api/wizard/draft", draft)
    page.goto(live_server.url + "/picker-harness")
    try:
        page.wait_for_function("document.querySelector('#method-picker').dataset.ready === '1'")
    except Exception:
        raise AssertionError(f"picker not ready; console: {console}; {page.content()[-1500:]}") from None
    names = page.eval_on_selector_all("[data-method]", "nodes => nodes.map(n => n.dataset.method)")
    assert names == ["grpo", "qlora", "unsloth", "standard", "rag"]
    assert page.is_checked("#method-grpo")
    assert "4-bit" in page.text_content("[data-method=qlora] label")  # the one-line description
    if not torch.cuda.is_available():
        assert page.is_disabled("#method-unsloth")
        assert "GPU" in page.text_content("[data-method=unsloth] [data-role=reason]")

    page.check("#method-standard")
    page.wait_for_function("document.querySelector('[data-role=saved]').textContent === 'Saved.'")
    assert patches == [{"method": "standard"}]
    page.wait_for_selector("[data-role=memory]:not([hidden])")
    assert "Qwen3 8B needs about 54 GB" in page.text_content("[data-role=memory]")
    page.close()
