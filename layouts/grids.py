"""The tables of the leaders' and staff pages (AG Grid), in the page's language.

AG Grid draws a few texts of its own, in English unless told otherwise: an empty table
reads "No Rows To Show" on a Chinese page. Every grid is built here so that none of them
misses its texts."""
from __future__ import annotations

import dash_ag_grid as dag

from dashboard.views.url_state import PageState

GRID_STYLE = {"width": "100%"}

# AG Grid's locale keys -> the catalogue's (dashboard/domain/text.py). Only what the
# community grid shows on these pages: no filter or column menus are switched on.
LOCALE_KEYS = {"noRowsToShow": "common.no_data", "loadingOoo": "common.loading"}


def locale_text(state: PageState) -> dict[str, str]:
    return {grid_key: state.t(key) for grid_key, key in LOCALE_KEYS.items()}


def data_grid(grid_id: str, state: PageState, rows: list[dict], columns: list[dict],
              options: dict | None = None, **kwargs) -> dag.AgGrid:
    """`options`: AG Grid's grid options (dashGridOptions); `kwargs`: the component's."""
    return dag.AgGrid(id=grid_id, rowData=rows, columnDefs=columns,
                      style=kwargs.pop("style", GRID_STYLE),
                      dashGridOptions={**(options or {}), "localeText": locale_text(state)},
                      **kwargs)
