"""Text tables: the cost summary and the audit table keep their column layout to the byte."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from fakes import example_llm
from ledger_helpers import make_record, sqlite_url

import azcost
from azcost.cli import main
from azcost.errors import UnpricedCallWarning
from azcost.ledger import Ledger

CORRECTED = Path(__file__).parent / "data" / "ledger-corrected.yaml"

SUMMARY = """\
model              requests  input  cached  output  reasoning  cost (USD)
gpt-35-turbo-0301         2     62       0      16          0    0.000156
gpt-4o-2024-08-06         1   5000    1024     700          0     0.01822
total                     4   5093    1024     724          0    0.018376
unpriced: 1 call(s)
  gpt-35-turbo-1106: unknown model 'gpt-35-turbo-1106' (model_version '1106'); \
closest known: gpt-35-turbo, gpt-35-turbo-0301, gpt-35-turbo-0125, gpt-3.5-turbo-0301"""

AUDIT_BY_MODEL_AND_REGION = """\
MODEL                      REGION         REQUESTS  UNPRICED  INPUT  CACHED  OUTPUT          COST  SHARE
-------------------------  -------------  --------  --------  -----  ------  ------  ------------  -----
gpt-4o-2024-08-06          swedencentral         1         0   5000       0       8    0.0195 USD  99.6%
gpt-35-turbo-0301          eastus                1         0     31       0       8  0.000078 USD   0.4%
gpt-35-turbo (unresolved)  eastus                1         1      7       0       8      unpriced   0.0%
-------------------------  -------------  --------  --------  -----  ------  ------  ------------  -----
TOTAL                                            3         1   5038       0      24  0.019578 USD
source: rollup: the daily rollup
"""

AUDIT_REPRICED_BY_MONTH = """\
MONTH    REQUESTS  UNPRICED  INPUT  CACHED  OUTPUT          COST   SHARE  REPRICED  DIFFERENCE  NOT REPRICED
-------  --------  --------  -----  ------  ------  ------------  ------  --------  ----------  ------------
2026-11         3         1   5038       0      24  0.019578 USD  100.0%  0.000039         n/a             2
-------  --------  --------  -----  ------  ------  ------------  ------  --------  ----------  ------------
TOTAL           3         1   5038       0      24  0.019578 USD          0.000039         n/a             2
not re-priced: 1 call(s) of 2026-11: model 'gpt-4o-2024-08-06': no regional price in the table (priced: global)
not re-priced: 1 call(s) of 2026-11: unknown model 'gpt-35-turbo'; closest known: gpt-35-turbo-0301, gpt-4o
source: rollup: the daily rollup, re-priced per service tier from the same source
"""


def test_summary_aligns_model_left_and_figures_right(mini: azcost.PricingTable) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnpricedCallWarning)
        with azcost.get_cost_callback(mini) as cb:
            example_llm().invoke("x")
            example_llm().invoke("x")
            example_llm(
                deployment_name="gpt-4o",
                model="gpt-4o",
                model_version="2024-08-06",
                input_tokens=5000,
                cached_tokens=1024,
                output_tokens=700,
            ).invoke("x")
            example_llm(model_version="1106").invoke("x")
    assert cb.summary() == SUMMARY


@pytest.fixture
def three_calls(tmp_path: Path) -> str:
    """A SQLite ledger of two priced calls and one unpriced call, all on 2026-11-02."""
    url = sqlite_url(tmp_path / "ledger.db")
    with Ledger(url, durability="sync") as ledger:
        ledger.record(make_record(0))
        ledger.record(
            make_record(
                1,
                model="gpt-4o-2024-08-06",
                input_tokens=5000,
                total="0.0195",
                region="swedencentral",
            )
        )
        ledger.record(make_record(2, model=None, input_tokens=7, total=None))
    return url


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--by", "model", "--by", "region"], AUDIT_BY_MODEL_AND_REGION),
        (["--by", "month", "--reprice", str(CORRECTED)], AUDIT_REPRICED_BY_MONTH),
    ],
    ids=["keys-left-figures-right", "repriced-columns"],
)
def test_audit_table_aligns_keys_left_figures_right_and_names_unpriced_calls(
    three_calls: str, args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", three_calls, *args]) == 0
    assert capsys.readouterr().out == expected
