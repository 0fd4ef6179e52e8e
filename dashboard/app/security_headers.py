"""The headers every response carries (docs/security.md, "Response headers and limits").

- Content-Security-Policy: scripts from this origin only, plus the hashes of Dash's own
  inline scripts (`Dash.csp_hashes()`: the renderer's start and any inline clientside
  callback), so the policy has neither 'unsafe-inline' nor 'unsafe-eval' for scripts.
  Nothing loads from another origin (the command centers' networks are isolated anyway),
  no page may frame ours, no <base> can redirect relative URLs, forms post here only.
- The usual companions: nosniff, a Referrer-Policy, X-Frame-Options for browsers that
  ignore frame-ancestors, a Cross-Origin-Opener-Policy, a Permissions-Policy.
- Cache-Control: no-store on everything that is not a static file: pages, callbacks (the
  exports are callback answers), the login's pages, the live feed.

`install` must run after every callback, clientside ones included, is registered: an
inline clientside callback registered later would have no hash in the policy and be
blocked.
"""
from __future__ import annotations

from flask import request

# What the bundles Dash serves need, checked in Chromium (tests/test_csp_browser.py
# opens every page with the policy and fails on any violation) and in their source:
# - scripts: no eval. plotly.js (the full bundle plotly.py ships) and the Dash, AG Grid and
#   Bootstrap components' bundles hold `new Function` only in fallbacks a current browser never takes
#   (webpack's globalThis shim, a Function.prototype.bind polyfill); the WebGL traces that
#   compile code at run time are not drawn here (only SVG scatter and bar), so plotly's
#   strict bundle is not needed. AG Grid evaluates string expressions with `new Function`;
#   dash-ag-grid evaluates the pages' `{"function": ...}` and cellClassRules strings with
#   its own interpreter instead. assets/*.js build no code from strings.
# - styles: 'unsafe-inline' is needed. Dash's renderer, its dropdown and date picker,
#   AG Grid's themes and plotly.js inject their CSS at run time as <style> elements, and
#   plotly.js writes `style` attributes through d3: with style-src 'self' Chromium blocked
#   112 of them in one visit of /kpi and /region. (A nonce would not do: Dash's renderer
#   and plotly.js take none.) Inline CSS runs no code; scripts stay strict.
# - images: data: for the icons AG Grid's theme draws as data: SVG URLs (a sorted
#   column's arrow, found blocked in Chromium without it).
STYLE_SRC = "'self' 'unsafe-inline'"
IMG_SRC = "'self' data:"

STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico")

# Set where the response has not set its own (a page that needs another Referrer-Policy,
# like the wall's token exchange, says so itself).
FIXED = {
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: a browser sends `Origin: null` with a form posted under
    # no-referrer, and the login's forms must name this site (auth_gate.same_origin).
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def policy(script_hashes: list[str]) -> str:
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", *script_hashes]),
        "style-src": STYLE_SRC,
        "img-src": IMG_SRC,
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def is_static(path: str) -> bool:
    return path.startswith(STATIC_PREFIXES)


def install(app, https: bool = False) -> str:
    """Add the headers to every response of `app` (a Dash app whose callbacks are all
    registered). `https`: the site is served over HTTPS (its cookies are Secure), so
    browsers are told to keep to it. Returns the policy."""
    csp = policy(list(app.csp_hashes()))
    headers = {"Content-Security-Policy": csp, **FIXED}
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000"

    @app.server.after_request
    def secure(resp):
        for name, value in headers.items():
            resp.headers.setdefault(name, value)
        if not is_static(request.path):
            resp.headers["Cache-Control"] = "no-store"
        return resp

    return csp
