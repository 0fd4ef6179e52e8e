"""What the server answers when it cannot answer: a calm page or JSON, never internals.

A request that ends in an exception is logged with its traceback (Flask logs it before
the handler runs) and answered 500 with a sentence; a path that does not exist, or a
method a path does not take, gets the same kind of answer. Callbacks and other
programmatic requests get JSON, people a page in the served font. No traceback, no
exception text, no version appears in either, whatever Flask's debug setting: the app
never runs with Flask's or Dash's debugger (`create_app` builds no dev tools, and
PROPAGATE_EXCEPTIONS is off so that a test client sees what a browser would).
"""
from __future__ import annotations

from flask import Response, json, request
from markupsafe import Markup

from dashboard.domain.language import language
from dashboard.domain.text import t
from layouts.auth_pages import document

# status -> (title key, message key)
ANSWERS = {
    404: ("error.not_found.title", "error.not_found.message"),
    405: ("error.method.title", "error.method.message"),
    500: ("error.server.title", "error.server.message"),
}
JSON_ERRORS = {404: "not found", 405: "method not allowed", 500: "server error"}


def _wants_json() -> bool:
    if request.path.startswith("/_dash-") or request.method not in ("GET", "HEAD"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def answer(status: int, default_lang: str, exc=None) -> Response:
    headers = {"Cache-Control": "no-store"}
    if getattr(exc, "valid_methods", None):        # 405 says what the path takes
        headers["Allow"] = ", ".join(exc.valid_methods)
    if _wants_json():
        return Response(json.dumps({"error": JSON_ERRORS[status]}), status=status,
                        mimetype="application/json", headers=headers)
    lang = language(request.args.get("lang"), default_lang)
    title, message = ANSWERS[status]
    body = Markup('<p class="gw-auth-error" id="auth-error" role="alert">{m}</p>'
                  '<p class="gw-auth-links"><a href="/{q}">{home}</a></p>').format(
        m=t(message, lang, path=request.path[:200]), q="?lang=en" if lang == "en" else "",
        home=t("error.back_home", lang))
    return Response(document(f"error-{status}", t(title, lang), body, lang), status=status,
                    mimetype="text/html", headers=headers)


def install(app, default_lang: str) -> None:
    server = app.server
    server.config["PROPAGATE_EXCEPTIONS"] = False
    server.debug = False
    for status in ANSWERS:
        server.register_error_handler(status, lambda exc, s=status: answer(s, default_lang, exc))
    if not app._dev_tools.hot_reload:   # noqa: SLF001 - Dash has no public accessor
        # Dash serves /_reload-hash whether hot reloading is on or not; off, no page asks
        # for it, and it would only list the component packages to whoever does.
        endpoint = next(r.endpoint for r in server.url_map.iter_rules()
                        if r.rule.endswith("_reload-hash"))
        server.view_functions[endpoint] = lambda: answer(404, default_lang)
