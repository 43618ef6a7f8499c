"""Where a study's things live: the runs/ and reports/ roots, an optional local data folder,
and the data splits, loaded once per data settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cnnreport.data.splits import Splits, load_splits
from cnnreport.study.schema import Study


@dataclass
class Workspace:
    """Where things live: runs/ and reports/ roots, and an optional local data folder."""

    runs_root: Path = Path("runs")
    reports_root: Path = Path("reports")
    data_dir: Path | None = None
    _splits: dict[str, Splits] = field(default_factory=dict)

    def splits(self, study: Study) -> Splits:
        key = study.data.model_dump_json()
        if key not in self._splits:
            self._splits[key] = load_splits(study.data, self.data_dir)
        return self._splits[key]

    def report_dir(self, study: Study) -> Path:
        return self.reports_root / study.name
