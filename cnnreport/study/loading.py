"""Loading a study: a built-in name or a TOML path, its profile merged over the base (profiles
list only what differs), validated; every problem one line naming the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cnnreport.errors import UserError

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]
from cnnreport import resources
from cnnreport.study.schema import Study
from cnnreport.study.specs import DEFAULT_STUDY, PROFILES
from cnnreport.study.summary import shown_path
from cnnreport.study.variants import deep_merge

# --------------------------------------------------------------------------------------- loading


def resolve_study_path(study: str) -> Path:
    """A built-in study name (`cifar10`, `fashion-mnist`) or a path to a TOML file."""
    candidate = Path(study)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise UserError(f"{study}: no such study file")
        return candidate
    builtin = resources.study(study)
    if builtin is not None:
        return Path(str(builtin))
    names = [p.name.removesuffix(".toml") for p in resources.study_files()]
    raise UserError(f"unknown study {study!r}: expected one of {names} or a path to a .toml file")


def _format_validation_error(path: Path, err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "missing":
            msg = "required key is missing"
        elif "input" in e and not isinstance(e["input"], (dict, list)):
            got = repr(e["input"])
            msg = f"{msg} (got {got if len(got) <= 60 else got[:57] + '...'})"  # one readable line
        parts.append(f"{key}: {msg}")
    return f"{path}: " + "; ".join(parts)


@dataclass
class StudyFile:
    """A study file read once: each profile is merged and validated from the same parsed TOML, at
    most once (a command that needs the quick and the full profile reads the file once)."""

    path: Path
    raw: dict[str, Any]
    argument: str  # as the user named it: a built-in name or a path
    _studies: dict[str | None, Study] = field(default_factory=dict)

    def at(self, profile: str | None) -> Study:
        """The study at `profile` (None: the file as written, without a profile)."""
        if profile not in self._studies:
            self._studies[profile] = study_from_dict(self.raw, profile, origin=self.path)
        return self._studies[profile]

    @property
    def command_name(self) -> str:
        """How to name the study on the command line: its built-in name, else its file."""
        builtin = resources.study(self.argument)
        if builtin is not None and Path(str(builtin)).resolve() == self.path.resolve():
            return self.argument
        return shown_path(self.path)


def read_study(study: str | Path = DEFAULT_STUDY) -> StudyFile:
    """Find and parse a study file. Raises UserError naming the file and what is wrong."""
    path = resolve_study_path(str(study))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None
    return StudyFile(path, raw, str(study))


def load_study(study: str | Path = DEFAULT_STUDY, profile: str | None = None) -> Study:
    """Load, merge the profile, validate. Raises UserError naming the file and the key."""
    return read_study(study).at(profile)


def study_from_dict(raw: dict[str, Any], profile: str | None, origin: Path | str = "<study>") -> Study:
    raw = dict(raw)
    profiles = raw.pop("profiles", {})
    if not isinstance(profiles, dict):
        raise UserError(f"{origin}: profiles: expected tables like [profiles.quick]")
    unknown = sorted(set(profiles) - set(PROFILES))
    if unknown:
        raise UserError(f"{origin}: profiles.{unknown[0]}: unknown profile; expected one of {list(PROFILES)}")
    if profile is not None:
        if profile not in PROFILES:
            raise UserError(f"unknown profile {profile!r}: expected one of {list(PROFILES)}")
        override = profiles.get(profile, {})
        if not isinstance(override, dict):
            raise UserError(f"{origin}: profiles.{profile}: expected a table")
        raw = deep_merge(raw, override)
        raw["profile"] = profile
    raw["source"] = str(origin)
    try:
        return Study.model_validate(raw)
    except ValidationError as err:
        raise UserError(_format_validation_error(Path(str(origin)), err)) from None
