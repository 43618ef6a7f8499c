"""Where a study's things live: the runs/ and reports/ roots, an optional local data folder,
and the data splits, loaded once per data settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from cnnreport.console import say
from cnnreport.data.folder_cache import FOLDER as DATA_CACHE
from cnnreport.data.splits import Splits, load_splits
from cnnreport.study.schema import Study
from cnnreport.train.store import study_runs_dir


@dataclass
class Workspace:
    """Where things live: runs/ and reports/ roots, and an optional local data folder."""

    runs_root: Path = Path("runs")
    reports_root: Path = Path("reports")
    data_dir: Path | None = None
    # An image folder's decoded arrays are kept in runs/<study>/data-cache/ (data/folder_cache.py);
    # False where nothing should be left beside the runs (a SageMaker job's model folder).
    cache_data: bool = True
    echo: Callable[[str], None] = say  # what loading data has to say (files skipped)
    _splits: dict[str, Splits] = field(default_factory=dict)

    def splits(self, study: Study) -> Splits:
        key = study.data.model_dump_json()
        if key not in self._splits:
            self._splits[key] = load_splits(
                study.data, self.data_dir,
                base_dir=Path(study.source).parent if study.source else None,  # data.path is the study file's
                cache_dir=study_runs_dir(self.runs_root, study.name) / DATA_CACHE if self.cache_data else None,
                echo=self.echo)
        return self._splits[key]

    def report_dir(self, study: Study) -> Path:
        return self.reports_root / study.name
